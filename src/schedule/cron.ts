import { Cron } from 'croner';
import { ToolError } from '../errors.js';

/** A job's cron expression, parsed once; slots are epoch milliseconds. */
export interface CronSlots {
  /** The first slot strictly after `afterMs`. */
  next(afterMs: number): number | null;
  /** The latest slot at or before `atMs` (null if none in the last year). */
  latest(atMs: number): number | null;
}

export function cronSlots(expression: string, timezone: string, job: string): CronSlots {
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, timezone });
  } catch (err) {
    throw new ToolError(
      'config_invalid',
      `schedule.jobs ${job}: cron "${expression}" is not valid: ${(err as Error).message}`,
      { hint: 'five fields (minute hour day month weekday), or six with seconds first, e.g. "0 3 * * *"' },
    );
  }
  return {
    next: (afterMs) => cron.nextRun(new Date(afterMs))?.getTime() ?? null,
    latest: (atMs) => cron.previousRuns(1, new Date(atMs + 1))[0]?.getTime() ?? null,
  };
}
