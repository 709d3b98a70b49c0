import { randomBytes } from 'node:crypto';
import type { DockerAdapter } from './client.js';

export const HELPER_LABEL = 'doom-ops.helper';

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
  },
): Promise<string> {
  const c = await adapter.call('create helper container', opts.signal, (s) =>
    adapter.docker.createContainer({
      name: `doom-ops-helper-${randomBytes(4).toString('hex')}`,
      Image: opts.image,
      Entrypoint: opts.cmd ? [opts.cmd[0]!] : undefined,
      Cmd: opts.cmd ? opts.cmd.slice(1) : ['true'],
      Labels: { [HELPER_LABEL]: opts.purpose },
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
      abortSignal: s,
    } as object),
  );
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

export async function removeHelper(adapter: DockerAdapter, id: string): Promise<void> {
  await adapter
    .call('remove helper container', undefined, (s) =>
      adapter.docker.getContainer(id).remove({ force: true, abortSignal: s } as object),
    )
    .catch(() => undefined);
}
