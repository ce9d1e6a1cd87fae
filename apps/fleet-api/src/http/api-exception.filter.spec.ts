import { BadRequestException, NotFoundException } from '@nestjs/common';
import { z } from 'zod';
import { DomainRejection, REJECTION_HTTP_STATUS, type RejectionCode } from '@hyperfleet/domain';
import { CredentialError } from '../../../device-gateway/src/identity';
import { ApiError } from './api-error';
import { toProblem } from './api-exception.filter';
import { ZodValidationPipe } from './zod-validation.pipe';

describe('toProblem: every error as { code, message, details? } with its status', () => {
  it.each(Object.entries(REJECTION_HTTP_STATUS))('DomainRejection %s → %i', (code, status) => {
    const r = new DomainRejection(code as RejectionCode, 'A sentence.', { deviceId: 'd-1' });
    expect(toProblem(r)).toEqual({
      status,
      body: { code, message: 'A sentence.', details: { deviceId: 'd-1' } },
    });
  });

  it('leaves out empty details', () => {
    expect(toProblem(new DomainRejection('DEVICE_NOT_PROVISIONED', 'Unknown.')).body).toEqual({
      code: 'DEVICE_NOT_PROVISIONED',
      message: 'Unknown.',
    });
  });

  it('maps credential errors and API errors', () => {
    expect(toProblem(new CredentialError('CREDENTIAL_NOT_FOUND', 'None.', { deviceId: 'x' }))).toEqual({
      status: 404,
      body: { code: 'CREDENTIAL_NOT_FOUND', message: 'None.', details: { deviceId: 'x' } },
    });
    expect(toProblem(new CredentialError('DEVICE_ID_RESERVED', 'Reserved.')).status).toBe(422);
    expect(toProblem(new ApiError(400, 'VALIDATION_FAILED', 'Bad.', { issues: [] }))).toEqual({
      status: 400,
      body: { code: 'VALIDATION_FAILED', message: 'Bad.', details: { issues: [] } },
    });
  });

  it('maps Nest HTTP exceptions, an unknown route, body-parser errors, and anything else to 500', () => {
    expect(toProblem(new NotFoundException('Cannot GET /x'))).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'No such route: GET /x.' },
    });
    expect(toProblem(new BadRequestException('nope'))).toEqual({
      status: 400,
      body: { code: 'BAD_REQUEST', message: 'nope' },
    });
    const parse = Object.assign(new SyntaxError('Unexpected end of JSON input'), {
      type: 'entity.parse.failed',
      status: 400,
    });
    expect(toProblem(parse)).toMatchObject({ status: 400, body: { code: 'MALFORMED_JSON' } });
    const large = Object.assign(new Error('request entity too large'), {
      type: 'entity.too.large',
      status: 413,
    });
    expect(toProblem(large)).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(toProblem(new TypeError('secret internals'))).toEqual({
      status: 500,
      body: { code: 'INTERNAL_ERROR', message: 'The server failed to handle the request.' },
    });
  });
});

describe('ZodValidationPipe', () => {
  const pipe = new ZodValidationPipe(z.object({ a: z.string(), tags: z.array(z.string()) }).strict(), 'body');

  it('returns the parsed value', () => {
    expect(pipe.transform({ a: 'x', tags: [] })).toEqual({ a: 'x', tags: [] });
  });

  it('throws VALIDATION_FAILED listing every issue by path', () => {
    let thrown: unknown;
    try {
      pipe.transform({ a: 1, tags: ['ok', 2], b: true });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    const p = toProblem(thrown);
    expect(p.status).toBe(400);
    expect(p.body.code).toBe('VALIDATION_FAILED');
    expect((p.body.details!.issues as { path: string }[]).map((i) => i.path)).toEqual([
      'a',
      'tags.1',
      '(body)',
    ]);
    expect(p.body.message).toMatch(
      /^The request body is invalid: a: .*; tags\.1: .*; \(body\): Unrecognized key: "b"\.$/,
    );
  });
});
