/**
 * An error whose message is a plain sentence meant for the person who asked: bad input, a rule
 * of the product, something not found. Anything else is a fault, logged with detail and shown
 * to people only as a reference.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export class NotFoundError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ForbiddenError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** The database (or another dependency) is unreachable for now; the request may be retried. */
export class UnavailableError extends Error {
  constructor(message = 'The service is temporarily unavailable; please try again in a moment.') {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** The request clashes with the state of things (a duplicate, work already queued, nothing waiting). */
export class ConflictError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** Too many attempts in a window; `retryAfterMs` says when the next one can count. */
export class RateLimitedError extends UserError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}
