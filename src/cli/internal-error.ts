import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { newErrorRef } from '../errors.js';
import { redact } from '../safety/redact.js';

/** errors.log is rotated to errors.log.1 past this size, so at most twice this on disk. */
const MAX_LOG_BYTES = 1024 * 1024;
const MAX_MESSAGE = 300;

/**
 * The state directory for the error log: config.stateDir when the configuration loads (the error
 * may be that it does not), else DOOM_OPS_STATE_DIR, else the default `.doom-ops`; absolute.
 */
export function stateDir(): string {
  let dir: string;
  try {
    dir = loadConfig().stateDir;
  } catch {
    dir = process.env.DOOM_OPS_STATE_DIR || '.doom-ops';
  }
  return isAbsolute(dir) ? dir : resolve(dir);
}

/**
 * A bug reached the CLI's surface (anything that is not a ToolError). Appends the full error (stack,
 * cause chain, command line, redacted) to `<stateDir>/errors.log` under a new reference, and
 * returns the ONE line the terminal gets:
 * `internal error (ref 3f9a1c2b): <message>; details in <stateDir>/errors.log`.
 * Never throws: if the log cannot be written, the line says so instead of where the details are.
 */
export function recordInternalError(err: unknown): string {
  const ref = newErrorRef();
  const message =
    redact(err instanceof Error ? err.message : String(err))
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, MAX_MESSAGE) || (err instanceof Error ? err.name : 'unknown error');
  let where: string;
  try {
    const dir = stateDir();
    const file = join(dir, 'errors.log');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      if (statSync(file).size > MAX_LOG_BYTES) renameSync(file, `${file}.1`);
    } catch {
      // no log yet
    }
    const entry = [
      `${new Date().toISOString()} ref ${ref} pid ${process.pid}`,
      `command: ${redact(process.argv.slice(2).join(' '))}`,
      redact(describe(err)),
      '',
    ].join('\n');
    appendFileSync(file, `${entry}\n`, { mode: 0o600 });
    where = `details in ${file}`;
  } catch (logErr) {
    where = `details could not be written to the state dir (${(logErr as { code?: string }).code ?? String(logErr)})`;
  }
  return `internal error (ref ${ref}): ${message}; ${where}`;
}

/** Stack and cause chain (a few levels), as text. */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(
      `${depth ? 'caused by: ' : ''}${e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)}`,
    );
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}
