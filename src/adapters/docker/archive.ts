import type { Readable } from 'node:stream';
import type { Extract } from 'tar-stream';
import type { DockerAdapter } from './client.js';

type Entry = Extract extends AsyncIterable<infer E> ? E : never;

export interface PathOwner {
  uid: number;
  gid: number;
  /** Permission bits, e.g. 0o755. */
  mode: number;
  type: string;
}

/**
 * Reads the first tar entry of GET /containers/{id}/archive?path=... and stops: the header of the
 * path itself (owner, group, mode). Works on stopped containers and never reads the contents, so
 * it costs the same for an empty volume and a full one.
 */
export function pathOwner(
  adapter: DockerAdapter,
  id: string,
  path: string,
  signal?: AbortSignal,
): Promise<PathOwner | null> {
  return firstEntry(adapter, id, path, `read owner of ${path}`, signal, async ({ header: h }) => ({
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    mode: (h.mode ?? 0) & 0o7777,
    type: h.type ?? 'file',
  }));
}

/** A small text file from a container's filesystem (e.g. /etc/passwd), or null if it is not there. */
export function readContainerFile(
  adapter: DockerAdapter,
  id: string,
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<string | null> {
  return firstEntry(adapter, id, path, `read ${path}`, signal, async (entry) => {
    if (entry.header.type !== 'file') return null;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) return null;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  });
}

/** Hands the archive's first entry (the path itself) to `use`, then drops the rest of the stream. */
async function firstEntry<T>(
  adapter: DockerAdapter,
  id: string,
  path: string,
  what: string,
  signal: AbortSignal | undefined,
  use: (entry: Entry) => Promise<T | null>,
): Promise<T | null> {
  return adapter.call(`${what} in ${id.slice(0, 12)}`, signal, async (s) => {
    const archive = await getArchive(adapter, id, path, s);
    if (!archive) return null;
    // Loaded on first use: health reads archives only for containers that never started.
    const { extract } = await import('tar-stream');
    const ex = extract();
    archive.pipe(ex);
    try {
      for await (const entry of ex) return await use(entry);
      return null;
    } finally {
      archive.destroy();
      ex.destroy();
    }
  });
}

async function getArchive(
  adapter: DockerAdapter,
  id: string,
  path: string,
  signal: AbortSignal,
): Promise<Readable | null> {
  try {
    return (await adapter.docker.getContainer(id).getArchive({ path, abortSignal: signal } as {
      path: string;
    })) as unknown as Readable;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

/** The tar stream of a path in a container (GET /containers/{id}/archive); the caller consumes it. */
export async function readArchive(
  adapter: DockerAdapter,
  id: string,
  path: string,
  signal?: AbortSignal,
): Promise<Readable> {
  // The deadline covers getting the response; the body streams for as long as it takes (the
  // request carries only the caller's signal, so the deadline cannot cut a large archive short).
  const request = signal ?? new AbortController().signal;
  const archive = await adapter.call(`read ${path} from ${id.slice(0, 12)}`, signal, () =>
    getArchive(adapter, id, path, request),
  );
  if (!archive) throw new Error(`${path} does not exist in container ${id.slice(0, 12)}`);
  signal?.addEventListener('abort', () => archive.destroy(new Error('cancelled')), { once: true });
  return archive;
}

/** Extracts a tar stream into a directory of a container (PUT /containers/{id}/archive). */
export async function writeArchive(
  adapter: DockerAdapter,
  id: string,
  path: string,
  tar: Readable,
  signal?: AbortSignal,
): Promise<void> {
  // No deadline: a large archive takes as long as it takes; the caller's signal still cancels.
  await adapter.call(
    `write into ${path} of ${id.slice(0, 12)}`,
    signal,
    (s) => adapter.docker.getContainer(id).putArchive(tar, { path, abortSignal: s } as { path: string }),
    2 ** 31 - 1,
  );
}
