import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { readArchive, writeArchive } from '../../adapters/docker/archive.js';
import { createHelper, removeHelper, runHelper } from '../../adapters/docker/helper.js';
import { whileStopped } from '../../adapters/docker/replicas.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import { byteProgress } from '../context.js';
import { HashCount } from '../hash-sink.js';
import type { ComponentEntry } from '../manifest.js';
import { ParallelGzip } from '../parallel-gzip.js';
import { TarCheck } from '../tar-check.js';

const MOUNT = '/volume';

interface ResolvedVolume {
  key: string;
  name: string;
  /** Stack containers (any state) that mount it. */
  owners: Array<{ id: string; name: string; running: boolean; image: string }>;
  image: string;
}

/** A Compose volume key (nats-data) to the engine's volume (<project>_nats-data) and who uses it. */
export async function resolveVolume(ctx: ToolContext, key: string): Promise<ResolvedVolume> {
  const { Volumes } = await ctx.docker.call('list volumes', ctx.signal, (s) =>
    ctx.docker.docker.listVolumes({
      filters: { label: [`com.docker.compose.project=${ctx.project}`, `com.docker.compose.volume=${key}`] },
      abortSignal: s,
    } as object),
  );
  const name = Volumes?.[0]?.Name;
  if (!name)
    throw new ToolError('not_found', `volume ${key} of project ${ctx.project} does not exist`, {
      hint: 'check backup.volumes in the config against the Compose file (volume keys, e.g. nats-data)',
    });
  const stack = await ctx.docker.listStack(ctx.project, ctx.signal);
  const details = await ctx.docker.inspectMany(
    stack.map((c) => c.id),
    ctx.signal,
  );
  const owners = details
    .filter((d) => d.mounts.some((m) => m.name === name))
    .map((d) => ({ id: d.id, name: d.name, running: d.state.running, image: d.image }));
  const image = owners[0]?.image ?? details[0]?.image;
  if (!image)
    throw new ToolError('not_found', `no container of ${ctx.project} to borrow an image from for the helper`);
  return { key, name, owners, image };
}

/** tar of the volume through the archive API of a helper that is created but never started; gzip on the fly. */
export async function backupVolume(ctx: ToolContext, dir: string, key: string): Promise<ComponentEntry> {
  const v = await resolveVolume(ctx, key);
  await mkdir(join(dir, 'volumes'), { recursive: true });
  const file = join('volumes', `${key}.tar.gz`);
  const helper = await createHelper(ctx.docker, {
    image: v.image,
    mounts: [{ volume: v.name, target: MOUNT, readOnly: true }],
    purpose: `backup ${v.name}`,
    signal: ctx.signal,
  });
  try {
    const hash = new HashCount(byteProgress(ctx, `volume ${key}`));
    const tar = new TarCheck();
    await pipeline(
      await readArchive(ctx.docker, helper, MOUNT, ctx.signal),
      tar,
      new ParallelGzip({ level: ctx.config.backup.gzipLevel, selfCheck: true }),
      hash,
      createWriteStream(join(dir, file)),
      { signal: ctx.signal },
    );
    return {
      component: 'volumes',
      target: key,
      file,
      bytes: hash.bytes,
      sha256: hash.digest(),
      details: { volume: v.name, usedBy: v.owners.map((o) => o.name), tarEntries: tar.entries },
      checkedWhileWriting: `tar parsed (${tar.entries} entries) and every gzip member inflated back to its input while writing`,
    };
  } finally {
    await removeHelper(ctx.docker, helper);
  }
}

/** Reads the whole archive: gzip and tar must both be intact. Returns the entry count. */
export async function checkTarGz(path: string): Promise<number> {
  const tar = new TarCheck();
  await pipeline(createReadStream(path), createGunzip(), tar, async (s: AsyncIterable<Buffer>) => {
    for await (const _ of s);
  });
  return tar.entries;
}

/**
 * Stops the containers using the volume, empties it (a helper running `find -delete` from the
 * owners' image), extracts the archive into it, and starts again what was running.
 */
export async function restoreVolume(
  ctx: ToolContext,
  dir: string,
  entry: ComponentEntry,
): Promise<{ volume: string; stopped: string[]; started: string[] }> {
  const v = await resolveVolume(ctx, entry.target);
  const running = v.owners.filter((o) => o.running);
  await whileStopped(ctx.docker, running, ctx.signal, async () => {
    const helper = await createHelper(ctx.docker, {
      image: v.image,
      mounts: [{ volume: v.name, target: MOUNT, readOnly: false }],
      // Portable across GNU and busybox find (busybox builds may lack -delete).
      cmd: ['find', MOUNT, '-mindepth', '1', '-maxdepth', '1', '-exec', 'rm', '-rf', '{}', '+'],
      purpose: `restore ${v.name}`,
      signal: ctx.signal,
    });
    try {
      const code = await runHelper(ctx.docker, helper, ctx.signal);
      if (code !== 0)
        throw new ToolError(
          'failed',
          `could not empty volume ${v.name} before restoring (find exited ${code})`,
          {
            hint: `the image ${v.image} needs find and rm; restore by hand or use an owner image that has it`,
          },
        );
      // The archive's root entry is the mount point's own name, so it lands back on /volume.
      await writeArchive(
        ctx.docker,
        helper,
        '/',
        createReadStream(join(dir, entry.file!)).pipe(createGunzip()),
        ctx.signal,
      );
    } finally {
      await removeHelper(ctx.docker, helper);
    }
  });
  return { volume: v.name, stopped: running.map((o) => o.name), started: running.map((o) => o.name) };
}
