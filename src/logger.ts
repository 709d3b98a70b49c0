import { createRequire } from 'node:module';
import type { Logger } from 'pino';

export type { Logger };

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const noop = (): void => {};

/**
 * Logs go to stderr only: stdout belongs to `--json` output and to the MCP stdio protocol.
 * Level from DOOM_OPS_LOG_LEVEL (default "warn" so CLI output stays readable).
 *
 * pino is loaded on the first call that can log (a method at or above the level, `child`, …):
 * a CLI command that logs nothing at "warn" does not load it (start-up time).
 */
export function createLogger(level: string = process.env.DOOM_OPS_LOG_LEVEL ?? 'warn'): Logger {
  let real: Logger | undefined;
  const make = (): Logger => {
    if (!real) {
      const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
      real = pino(
        {
          level,
          base: { app: 'doom-ops' },
          redact: { paths: ['*.password', '*.token', '*.secret', 'headers.authorization'], censor: '***' },
        },
        pino.destination({ fd: 2, sync: true }),
      );
    }
    return real;
  };
  // An unknown level is refused now, as pino refuses it, not at the first log line.
  if (level !== 'silent' && !(level in LEVELS)) return make();
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVELS[level]!;
  return new Proxy({} as Logger, {
    get(_target, prop) {
      if (!real) {
        if (typeof prop === 'string' && prop in LEVELS && LEVELS[prop]! < threshold) return noop;
        if (prop === 'level') return level;
      }
      const logger = make();
      const value = Reflect.get(logger, prop, logger) as unknown;
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(make(), prop, value);
    },
  });
}
