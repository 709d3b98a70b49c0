/** Log levels, ordered; pino's numeric levels and common spellings map onto them. */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

const ALIASES: Record<string, Level> = {
  trace: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  panic: 'fatal',
  emerg: 'fatal',
  alert: 'fatal',
};

const PINO: Record<number, Level> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const JSON_KEYS = ['level', 'lvl', 'severity', 'log.level', 'levelname'];
// Upper-case level words near the start ("2026-… ERROR x", "[WARN] y"); lower-case only when
// marked as a level ("level=error", "[error]"), so prose like "an error happened" is not a level.
const TEXT_LEVEL =
  /^(?:\S+\s+){0,3}?\[?(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|PANIC)\]?(?=[\s:|]|$)/;
const MARKED_LEVEL = /(?:\b(?:level|lvl|severity)\s*[=:]\s*"?|^(?:\S+\s+){0,3}?\[)([a-z]+)\b/i;

function normalise(value: unknown): Level | null {
  if (typeof value === 'number') return PINO[value] ?? null;
  if (typeof value !== 'string') return null;
  return ALIASES[value.toLowerCase()] ?? null;
}

/** The level of one log line: a JSON field when the line is JSON, else a leading LEVEL word. */
export function parseLevel(line: string): Level | null {
  const text = line.trimStart();
  if (text.startsWith('{')) {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>;
      for (const key of JSON_KEYS) {
        const level = normalise(obj[key]);
        if (level) return level;
      }
      return null;
    } catch {
      // not JSON after all: fall through to the text form
    }
  }
  const match = TEXT_LEVEL.exec(text) ?? MARKED_LEVEL.exec(text);
  return match ? normalise(match[1]) : null;
}

/** True when `level` is at least `min` (so "error" also keeps "fatal"). */
export function atLeast(level: Level | null, min: Level): boolean {
  return level !== null && LEVELS.indexOf(level) >= LEVELS.indexOf(min);
}
