import { isToolError } from '../errors.js';

/** An error in words, with a ToolError's hint ("(next: …)"). */
export function reasonOf(err: unknown): string {
  if (isToolError(err)) return `${err.message}${err.hint ? ` (next: ${err.hint})` : ''}`;
  return (err as Error)?.message ?? String(err);
}
