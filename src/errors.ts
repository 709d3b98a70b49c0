/**
 * The one error type a user may see. Anything else that escapes a tool is a bug: surfaces log it
 * with a reference id and show only "internal error (ref …)".
 */
export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'not_allowed'
  | 'conflict'
  | 'busy'
  | 'upstream_unavailable'
  | 'timeout'
  | 'cancelled'
  | 'approval_required'
  | 'config_invalid'
  /** The operation ran and did not succeed (a command exited non-zero, a check failed). */
  | 'failed';

export class ToolError extends Error {
  override readonly name = 'ToolError';
  readonly code: ErrorCode;
  /** What the user should do next. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function isToolError(err: unknown): err is ToolError {
  return err instanceof ToolError;
}

/** Short, stable reference for correlating a user-visible "internal error" with the log. */
export function newErrorRef(): string {
  return Math.random().toString(36).slice(2, 10);
}
