/**
 * `Idempotency-Key` on every POST of the API, implemented once, as a global interceptor.
 *
 * Why an interceptor: it runs after the auth guard (keys are scoped by the credential on
 * `request.actor`) and before the pipes, so validation errors are answered inside it. The response is
 * captured where it is written (`res.send`), because errors are written by the exception filter, not
 * returned through the interceptor; the row is completed before the bytes go out, so a client that
 * retries after reading the answer always finds it.
 *
 * - same key, same request (sha256 of method, path and canonical body) → the stored response, byte for
 *   byte, with `Idempotent-Replayed: true`; 4xx answers are stored too (a rejected command stays rejected)
 * - same key, other request → 422 IDEMPOTENCY_KEY_REUSED; still in flight → 409 IDEMPOTENCY_KEY_IN_PROGRESS
 * - a 5xx, or a client gone before the answer, forgets the key: the request may be retried
 */
import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnModuleDestroy,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Pool } from 'pg';
import { from, of, switchMap, type Observable } from 'rxjs';
import { runMigrations } from '@hyperfleet/event-store';
import { PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { ApiError } from './api-error';
import { IDEMPOTENCY_MIGRATION_SET } from './idempotency.migrations';
import { IdempotencyStore, type IdempotencyScope, type StoredResponse } from './idempotency.store';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** Printable ASCII, 1–255 characters. */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** Response headers a replay repeats besides the body's type. */
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'] as const;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** JSON with object keys sorted at every level, so `{a,b}` and `{b,a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha256 over method, path (with its query) and the canonical body. */
export function requestFingerprint(method: string, pathAndQuery: string, body: unknown): string {
  const hash = createHash('sha256').update(`${method.toUpperCase()}\n${pathAndQuery}\n`);
  if (Buffer.isBuffer(body)) hash.update(body);
  else if (typeof body === 'string') hash.update(body);
  else if (body !== undefined && !(typeof body === 'object' && body !== null && !Object.keys(body).length))
    hash.update(canonicalJson(body));
  return hash.digest('hex');
}

/** The key of a request: undefined without the header; 400 INVALID_IDEMPOTENCY_KEY when malformed. */
export function idempotencyKeyOf(req: Pick<Request, 'headers'>): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (!KEY_PATTERN.test(value)) {
    throw new ApiError(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID is a good choice)',
      { length: value.length },
    );
  }
  return value;
}

type Send = Response['send'];

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor, OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Idempotency');
  private readonly store: IdempotencyStore;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
  ) {
    this.store = new IdempotencyStore(pool);
  }

  async onModuleInit(): Promise<void> {
    if (this.infra.config.migrateOnStart) {
      await runMigrations(this.pool, IDEMPOTENCY_MIGRATION_SET);
    }
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    await this.prune();
  }

  onModuleDestroy(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.store.prune();
      if (n) this.log.log(`Pruned ${n} idempotency keys older than 24 h`);
    } catch (err) {
      this.log.warn(`Pruning idempotency keys failed: ${(err as Error).message}`);
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request & { actor?: { credentialId?: string } }>();
    const res = context.switchToHttp().getResponse<Response>();
    if (req.method !== 'POST') return next.handle();
    const key = idempotencyKeyOf(req);
    if (key === undefined) return next.handle();
    const url = req.originalUrl ?? req.url;
    const scope: IdempotencyScope = {
      credentialId: req.actor?.credentialId ?? 'anonymous',
      method: req.method,
      path: url.split('?')[0]!,
      key,
    };
    const fingerprint = requestFingerprint(req.method, url, req.body);
    return from(this.store.claim(scope, fingerprint)).pipe(
      switchMap((claimed) => {
        switch (claimed.kind) {
          case 'mismatch':
            throw new ApiError(
              422,
              'IDEMPOTENCY_KEY_REUSED',
              'This Idempotency-Key was used for a different request (another body or path); use a new key',
              { idempotencyKey: key },
            );
          case 'in-flight':
            throw new ApiError(
              409,
              'IDEMPOTENCY_KEY_IN_PROGRESS',
              'A request with this Idempotency-Key is still being processed; retry once it has answered',
              { idempotencyKey: key },
            );
          case 'replay':
            this.replayOn(res, claimed.response);
            return of(null);
          case 'claimed':
            this.captureOn(res, scope, claimed.claim);
            return next.handle();
        }
      }),
    );
  }

  /** Whatever Nest then sends (null) is replaced by the stored response. */
  private replayOn(res: Response, stored: StoredResponse): void {
    const send: Send = res.send.bind(res);
    res.send = ((): Response => {
      res.status(stored.status);
      for (const [name, value] of Object.entries(stored.headers)) res.setHeader(name, value);
      res.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
      return send(stored.body);
    }) as Send;
  }

  /** Stores the response as it is sent (after the filter for errors), then sends it. */
  private captureOn(res: Response, scope: IdempotencyScope, claim: string): void {
    const send: Send = res.send.bind(res);
    let answered = false;
    res.send = ((body?: unknown): Response => {
      // An object goes through res.json, which calls this again with its text.
      if (answered || (body !== null && typeof body === 'object' && !Buffer.isBuffer(body))) {
        return send(body);
      }
      answered = true;
      const status = res.statusCode;
      const bytes = Buffer.isBuffer(body)
        ? body
        : Buffer.from(body === undefined || body === null ? '' : String(body), 'utf8');
      const headers: Record<string, string> = {};
      for (const name of REPLAYED_HEADERS) {
        const value = res.getHeader(name);
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
      }
      if (typeof body === 'string' && headers['content-type'] === undefined) {
        headers['content-type'] = 'text/html; charset=utf-8'; // what express sets for a string
      }
      const saved =
        status >= 500
          ? this.store.release(scope, claim)
          : this.store.complete(scope, claim, { status, headers, body: bytes });
      saved
        .catch((err: Error) => {
          this.log.error(`Storing the response of idempotency key failed: ${err.message}`);
          return this.store.release(scope, claim).catch(() => undefined);
        })
        .finally(() => send(body as Parameters<Send>[0]));
      return res;
    }) as Send;
    res.once('close', () => {
      if (!answered) void this.store.release(scope, claim).catch(() => undefined);
    });
  }
}

/** One line in FleetApiModule's providers: `...IDEMPOTENCY_PROVIDERS`. */
export const IDEMPOTENCY_PROVIDERS: Provider[] = [
  { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
];
