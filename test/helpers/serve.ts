import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from './cli.js';

/**
 * Starts the built `doom-ops serve` with these arguments (add `--port 0`), environment and node
 * options (`nodeArgs`, e.g. --cpu-prof for a benchmark); resolves
 * with the process and its base URL (http://127.0.0.1:PORT) once it says it is serving, rejects
 * with its stderr if it exits first. The caller kills it.
 */
export async function startServe(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<{ proc: ChildProcess; base: string }> {
  const proc = spawn('node', [...nodeArgs, CLI, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving (http:\/\/127\.0\.0\.1:\d+)\/mcp/.exec(err);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { proc, base };
}
