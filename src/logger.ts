import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Logs go to stderr only: stdout belongs to `--json` output and to the MCP stdio protocol.
 * Level from DOOM_OPS_LOG_LEVEL (default "warn" so CLI output stays readable).
 */
export function createLogger(level: string = process.env.DOOM_OPS_LOG_LEVEL ?? 'warn'): Logger {
  return pino(
    {
      level,
      base: { app: 'doom-ops' },
      redact: { paths: ['*.password', '*.token', '*.secret', 'headers.authorization'], censor: '***' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
