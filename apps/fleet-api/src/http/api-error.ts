/**
 * The error body of every API response: `{ code, message, details? }`. `code` is machine-readable
 * (UPPER_SNAKE_CASE), `message` a sentence for humans, `details` JSON particulars.
 */
export interface ApiProblem {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** An HTTP-level refusal that is not a domain rule: validation, unknown route, malformed JSON. */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): ApiProblem {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}
