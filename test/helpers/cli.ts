import { resolve } from 'node:path';
import { execa } from 'execa';

export const CLI = resolve('dist/src/cli/main.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
  json: <T = Record<string, unknown>>() => T;
}

/** Runs the built CLI as a user would (argument array, no shell). */
/** Like cli(), but a result that is an error (exit 2) fails with the CLI's own message. */
export async function cliOk(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const r = await cli(args, env, timeoutMs);
  if (r.exitCode === 2) throw new Error(`doom-ops ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

export async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const started = Date.now();
  const r = await execa('node', [CLI, ...args], {
    reject: false,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return {
    exitCode: r.exitCode ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    ms: Date.now() - started,
    json: <T>() => {
      try {
        return JSON.parse(r.stdout) as T;
      } catch {
        throw new Error(
          `not JSON (exit ${r.exitCode}); stderr: ${r.stderr}; stdout: ${r.stdout.slice(0, 500)}`,
        );
      }
    },
  };
}
