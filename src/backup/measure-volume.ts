import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readArchive } from '../adapters/docker/archive.js';
import type { DockerAdapter } from '../adapters/docker/client.js';
import { createHelper, removeHelper } from '../adapters/docker/helper.js';
import { TarCheck } from './tar-check.js';

/**
 * The size of a volume's files, read the way a volume backup reads it: the tar stream of a helper
 * container (created, never started, volume mounted read-only) through the Engine archive API,
 * parsed as it streams (memory stays flat). For volumes `docker system df` does not measure
 * (volumes bound to a host path with driver_opts). It reads every byte, so it takes as long as a
 * backup of the volume would.
 */
export async function measureVolume(
  adapter: DockerAdapter,
  volume: string,
  image: string,
  signal?: AbortSignal,
): Promise<number> {
  const helper = await createHelper(adapter, {
    image,
    mounts: [{ volume, target: '/volume', readOnly: true }],
    purpose: `measure ${volume}`,
    signal,
  });
  try {
    const tar = new TarCheck();
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    await pipeline(await readArchive(adapter, helper, '/volume', signal), tar, sink, { signal });
    return tar.fileBytes;
  } finally {
    await removeHelper(adapter, helper);
  }
}
