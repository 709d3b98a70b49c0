/**
 * What command definitions need at start-up: option types, exit codes, count parsing. Nothing here
 * may import more than node built-ins (every CLI run loads it, `--version` and `--help` included).
 */

export interface CommonOptions {
  project?: string;
  json?: boolean;
  /** Approve a destructive action's plan without the interactive prompt (operators' scripts). */
  yes?: boolean;
}

/** Exit codes: 0 ok, 1 the check itself failed (e.g. stack not healthy), 2 the command could not run. */
export const EXIT = { ok: 0, failed: 1, error: 2 } as const;

/** A command-line count that is not a plain decimal integer; runToolCommand refuses it by name. */
export class NotAnInteger {
  constructor(readonly raw: string) {}
}

/**
 * Commander gives strings. Counts are decimal integers only: Number() would read '' as 0 and
 * accept 1e1, 0x3 and ' 2 ', so `scale nats ''` would have meant 0 replicas. The tool's schema
 * checks the range.
 */
export function num(value: string | undefined): number | NotAnInteger | undefined {
  if (value === undefined) return undefined;
  return /^-?\d+$/.test(value) && !/^-?0\d/.test(value) ? Number(value) : new NotAnInteger(value);
}
