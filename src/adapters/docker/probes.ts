import type { DockerAdapter } from './client.js';
import type { ExecResult } from './types.js';

export type ProbeStatus = 'ok' | 'failed' | 'unknown';

export interface ProbeResult {
  status: ProbeStatus;
  /** The command that decided the result (argv joined), or what was tried. */
  command: string;
  output: string;
}

const MISSING = /executable file not found|no such file or directory/i;
const BAD_OPTION = /invalid option|unrecognized option|illegal option|usage:/i;

function missing(r: ExecResult): boolean {
  return r.exitCode === 126 || r.exitCode === 127 || MISSING.test(r.stdout + r.stderr);
}

function text(r: ExecResult): string {
  return `${r.stdout}${r.stderr}`.trim().slice(0, 400);
}

/**
 * Runs the first of `candidates` the container has (images differ: glibc getent, busybox
 * nslookup, netcat with or without -z). A candidate that is missing, or rejects its options, hands
 * over to the next; none left means the check cannot be made from inside this container.
 */
async function firstAvailable(
  adapter: DockerAdapter,
  id: string,
  candidates: string[][],
  signal?: AbortSignal,
): Promise<ProbeResult> {
  for (const argv of candidates) {
    const r = await adapter.exec(id, argv, { signal, timeoutMs: 8000, maxOutput: 4096 });
    if (missing(r)) continue;
    if (r.exitCode !== 0 && BAD_OPTION.test(r.stderr)) continue;
    return { status: r.exitCode === 0 ? 'ok' : 'failed', command: argv.join(' '), output: text(r) };
  }
  return {
    status: 'unknown',
    command: candidates.map((c) => c[0]).join(', '),
    output: `none of ${[...new Set(candidates.map((c) => c[0]))].join(', ')} exists in the container`,
  };
}

/** Resolves a name with the container's own resolver (Docker's embedded DNS on user networks). */
export function resolveFrom(
  adapter: DockerAdapter,
  id: string,
  name: string,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  return firstAvailable(
    adapter,
    id,
    [
      ['getent', 'hosts', name],
      ['nslookup', name],
    ],
    signal,
  );
}

/** Opens a TCP connection from inside the container (`nc -z`, or busybox nc running `true` once connected). */
export function connectFrom(
  adapter: DockerAdapter,
  id: string,
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const p = String(port);
  return firstAvailable(
    adapter,
    id,
    [
      ['nc', '-z', '-w', '3', host, p],
      ['nc', '-w', '3', host, p, '-e', 'true'],
    ],
    signal,
  );
}
