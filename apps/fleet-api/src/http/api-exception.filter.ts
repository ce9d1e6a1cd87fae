import {
  Catch,
  HttpException,
  Injectable,
  Logger,
  OnModuleInit,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { DomainRejection } from '@hyperfleet/domain';
import { CredentialError } from '../../../device-gateway/src/identity';
import { ApiError, type ApiProblem } from './api-error';

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** body-parser's errors carry a `type` and a `status`. */
interface BodyParserError {
  readonly type: string;
  readonly status: number;
  readonly message: string;
}

const isBodyParserError = (e: unknown): e is BodyParserError =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as BodyParserError).type === 'string' &&
  typeof (e as BodyParserError).status === 'number' &&
  (e as BodyParserError).type.startsWith('entity.');

const withDetails = (details: Record<string, unknown> | undefined) =>
  details && Object.keys(details).length ? { details } : {};

/** Any exception as the status and body the API answers with. */
export function toProblem(exception: unknown): { status: number; body: ApiProblem } {
  if (exception instanceof DomainRejection) {
    return {
      status: exception.httpStatus,
      body: { code: exception.code, message: exception.message, ...withDetails(exception.details) },
    };
  }
  if (exception instanceof CredentialError) {
    return {
      status: exception.httpStatus,
      body: { code: exception.code, message: exception.message, ...withDetails(exception.details) },
    };
  }
  if (exception instanceof ApiError) return { status: exception.httpStatus, body: exception.toJSON() };
  if (isBodyParserError(exception)) {
    if (exception.type === 'entity.parse.failed') {
      return {
        status: 400,
        body: { code: 'MALFORMED_JSON', message: `The request body is not valid JSON: ${exception.message}` },
      };
    }
    return {
      status: exception.status,
      body: { code: STATUS_CODES[exception.status] ?? 'BAD_REQUEST', message: exception.message },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const message =
      typeof response === 'object' &&
      response !== null &&
      typeof (response as { message?: unknown }).message === 'string'
        ? (response as { message: string }).message
        : exception.message;
    // Nest's 404 for a route nobody serves says "Cannot GET /x".
    const routeMissing = status === 404 && /^Cannot [A-Z]+ /.test(message);
    return {
      status,
      body: {
        code: STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'),
        message: routeMissing ? `No such route: ${message.replace(/^Cannot /, '')}.` : message,
      },
    };
  }
  return {
    status: 500,
    body: { code: 'INTERNAL_ERROR', message: 'The server failed to handle the request.' },
  };
}

/**
 * The one exception filter of the HTTP API (registered app-wide as APP_FILTER): domain rejections with
 * REJECTION_HTTP_STATUS, credential errors, validation errors (400 VALIDATION_FAILED), malformed JSON,
 * unknown routes (404) and everything else (500, logged) as `{ code, message, details? }`.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('FleetApi');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    let { status, body } = toProblem(exception);
    // With If-Match, a stream that moved is the client's stale precondition, not a race to retry.
    if (body.code === 'CONCURRENCY_CONFLICT' && req.headers?.['if-match'] !== undefined) {
      status = 412;
      body = { ...body, code: 'PRECONDITION_FAILED' };
    }
    if (status >= 500) {
      this.log.error(
        `${req.method} ${req.url} failed: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
      );
    }
    if (res.headersSent) return;
    res.status(status).json(body);
  }
}

/**
 * Request bodies Express could not read (invalid JSON, too large). Nest turns body-parser's errors
 * into a bare 400 before any filter sees them, so they are answered here, by an Express error handler
 * that runs after the routes and before Nest's own: 400 MALFORMED_JSON, 413 PAYLOAD_TOO_LARGE.
 */
@Injectable()
export class BodyParserErrors implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter || adapter.getType() !== 'express') return;
    adapter.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (!isBodyParserError(err) || res.headersSent) return next(err);
      const { status, body } = toProblem(err);
      res.status(status).json(body);
    });
  }
}
