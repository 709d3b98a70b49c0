import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { processAlive } from '../../util/process.js';
import type { DockerAdapter } from './client.js';

export const HELPER_LABEL = 'doom-ops.helper';
/** host:pid of the process that created the helper, so an orphan of a killed process can be told apart. */
const OWNER_LABEL = 'doom-ops.helper.owner';
const ME = `${hostname()}:${process.pid}`;

/**
 * A container that only exists to reach volumes through the archive API (created, usually never
 * started, so the image needs no tar). Removed by the caller with removeHelper.
 */
export async function createHelper(
  adapter: DockerAdapter,
  opts: {
    image: string;
    mounts: Array<{ volume: string; target: string; readOnly: boolean }>;
    cmd?: string[];
    purpose: string;
    signal?: AbortSignal;
    /** The command reads a stdin that is closed once the one attached client has gone (see startGated). */
    stdin?: boolean;
  },
): Promise<string> {
  const c = await adapter.createContainer('create helper container', opts.signal, {
    name: `doom-ops-helper-${randomBytes(4).toString('hex')}`,
    Image: opts.image,
    Entrypoint: opts.cmd ? [opts.cmd[0]!] : undefined,
    Cmd: opts.cmd ? opts.cmd.slice(1) : ['true'],
    ...(opts.stdin ? { OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
    Labels: { [HELPER_LABEL]: opts.purpose, [OWNER_LABEL]: ME },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: opts.mounts.map((m) => ({
        Type: 'volume',
        Source: m.volume,
        Target: m.target,
        ReadOnly: m.readOnly,
      })),
    },
  });
  return c.id;
}

/** Starts a helper and waits for its command to finish; returns the exit code. */
export async function runHelper(adapter: DockerAdapter, id: string, signal?: AbortSignal): Promise<number> {
  const c = adapter.docker.getContainer(id);
  await adapter.call('start helper container', signal, (s) => c.start({ abortSignal: s } as object));
  const r = (await adapter.call(
    'wait for helper container',
    signal,
    (s) => c.wait({ abortSignal: s } as object),
    600_000,
  )) as {
    StatusCode: number;
  };
  return r.StatusCode;
}

/**
 * Starts a helper created with `stdin` whose command waits for one line on its stdin before it
 * does anything (a gate), so its start-up can happen ahead of the moment it is allowed to act.
 * `open(line)` sends the line, closes stdin and waits for the command's exit code; `close()` closes
 * stdin unsent (the command sees end of input and must then do nothing). If this process dies, the
 * connection drops and stdin closes the same way. Errors (start): the engine's, e.g. the image lacks
 * the command's program.
 */
export async function startGated(
  adapter: DockerAdapter,
  id: string,
  signal?: AbortSignal,
): Promise<{ open(line: string, signal?: AbortSignal): Promise<number>; close(): void }> {
  const c = adapter.docker.getContainer(id);
  const stdin = (await adapter.call('attach to helper container', signal, () =>
    c.attach({ stream: true, stdin: true, hijack: true }),
  )) as unknown as Duplex;
  // Nothing is read from it (stdout is not attached); a dropped connection is what close() does anyway.
  stdin.on('error', () => undefined);
  stdin.resume();
  try {
    await adapter.call('start helper container', signal, (s) => c.start({ abortSignal: s } as object));
  } catch (err) {
    stdin.destroy();
    throw err;
  }
  return {
    async open(line, openSignal) {
      stdin.end(`${line}\n`);
      const r = (await adapter.call(
        'wait for helper container',
        openSignal,
        (s) => c.wait({ abortSignal: s } as object),
        600_000,
      )) as { StatusCode: number };
      return r.StatusCode;
    },
    close() {
      stdin.end();
    },
  };
}

export async function removeHelper(adapter: DockerAdapter, id: string): Promise<void> {
  await adapter
    .call('remove helper container', undefined, (s) =>
      adapter.docker.getContainer(id).remove({ force: true, abortSignal: s } as object),
    )
    .catch(() => undefined);
}

/**
 * Helpers left behind by a doom-ops process that was killed (on this host, its pid is gone): they
 * hold volumes, so `docker volume rm` would fail on them. Returns the names removed.
 */
export async function removeOrphanHelpers(adapter: DockerAdapter, signal?: AbortSignal): Promise<string[]> {
  const list = await adapter.call('list helper containers', signal, (s) =>
    adapter.docker.listContainers({
      all: true,
      filters: { label: [HELPER_LABEL] },
      abortSignal: s,
    } as object),
  );
  const removed: string[] = [];
  for (const c of list) {
    const [host, pid] = (c.Labels[OWNER_LABEL] ?? '').split(':');
    if (host !== hostname() || !pid || processAlive(Number(pid))) continue;
    await removeHelper(adapter, c.Id);
    removed.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
  }
  return removed;
}
