import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline as pipelineCb, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { readArchive, writeArchive } from '../../adapters/docker/archive.js';
import { createHelper, removeHelper, runHelper, startGated } from '../../adapters/docker/helper.js';
import { whileStopped } from '../../adapters/docker/replicas.js';
import { UnreadableFilesError } from '../../adapters/restic/repository.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import { byteProgress } from '../context.js';
import { HashCount } from '../hash-sink.js';
import type { ComponentEntry } from '../manifest.js';
import type { BackupStore, Reason } from '../store.js';
import { TarCheck } from '../tar-check.js';
import { type ConsistencyInfo, withConsistency } from './consistency.js';

const MOUNT = '/volume';

export interface ResolvedVolume {
  key: string;
  name: string;
  /** Stack containers (any state) that mount it. */
  owners: Array<{
    id: string;
    name: string;
    service: string;
    running: boolean;
    image: string;
    labels: Record<string, string>;
  }>;
  image: string;
  /** From the engine: the volume's driver, driver options and Mountpoint (a path on the engine's host). */
  driver: string;
  options: Record<string, string>;
  mountpoint: string;
}

/**
 * The Compose volume keys the volumes component covers: backup.volumes when set, otherwise every
 * named volume of the project (by its com.docker.compose.volume label); backup.exclude removed.
 */
export async function stackVolumeKeys(ctx: ToolContext): Promise<string[]> {
  const cfg = ctx.config.backup;
  const keys = cfg.volumes.length
    ? cfg.volumes
    : (await ctx.docker.stackVolumes(ctx.project, ctx.signal)).map((v) => v.key);
  return [...new Set(keys)].filter((k) => !cfg.exclude.includes(k)).sort();
}

/**
 * A Compose volume key (nats-data) to the engine's volume (<project>_nats-data) and who uses it.
 * The helper's image is an owner's (else any stack container's, else `fallbackImage`: on a swarm
 * node where no task container is left, the image of a service mounting it). Errors: ToolError
 * not_found when the volume, or any image to borrow, is missing.
 */
export async function resolveVolume(
  ctx: ToolContext,
  key: string,
  fallbackImage?: string,
): Promise<ResolvedVolume> {
  const [volume] = await ctx.docker.stackVolumes(ctx.project, ctx.signal, key);
  const name = volume?.name;
  if (!volume || !name)
    throw new ToolError('not_found', `volume ${key} of project ${ctx.project} does not exist`, {
      hint: `if it was removed (docker compose down -v), create it again with \`docker compose -p ${ctx.project} up --no-start\` and run this again; otherwise check backup.volumes against the Compose file's volume keys (e.g. nats-data)`,
    });
  const stack = await ctx.docker.listStack(ctx.project, ctx.signal);
  const details = await ctx.docker.inspectMany(
    stack.map((c) => c.id),
    ctx.signal,
  );
  const owners = details
    .filter((d) => d.mounts.some((m) => m.name === name))
    .map((d) => ({
      id: d.id,
      name: d.name,
      service: stack.find((c) => c.id === d.id)?.service ?? '',
      running: d.state.running,
      image: d.image,
      labels: stack.find((c) => c.id === d.id)?.labels ?? {},
    }));
  const image = owners[0]?.image ?? details[0]?.image ?? fallbackImage;
  if (!image)
    throw new ToolError('not_found', `no container of ${ctx.project} to borrow an image from for the helper`);
  return {
    key,
    name,
    owners,
    image,
    driver: volume.driver,
    options: volume.options,
    mountpoint: volume.mountpoint,
  };
}

/**
 * The volume's directory when restic can read it there file by file (backup.volumeAccess auto):
 * the engine's paths and owners are this host's (DockerAdapter.sameHostAccess), the volume is a
 * plain `local` volume (no driver options: a bind or NFS volume is mounted at its Mountpoint only
 * while a container uses it), and its Mountpoint is a directory this process can read and list.
 * Otherwise why not, in words for the backup's details.
 */
export async function volumeDirectory(
  ctx: ToolContext,
  v: ResolvedVolume,
): Promise<{ dir: string } | { why: string }> {
  if (ctx.config.backup.volumeAccess === 'engine') return { why: 'backup.volumeAccess is engine' };
  const notHere = await ctx.docker.sameHostAccess(ctx.signal);
  if (notHere) return { why: notHere };
  if (v.driver !== 'local' || Object.keys(v.options).length > 0)
    return { why: `volume driver ${v.driver}${Object.keys(v.options).length ? ' with options' : ''}` };
  if (!v.mountpoint.startsWith('/')) return { why: 'the engine reports no Mountpoint' };
  try {
    const st = await stat(v.mountpoint);
    if (!st.isDirectory()) return { why: `${v.mountpoint} is not a directory here` };
    await access(v.mountpoint, constants.R_OK | constants.X_OK);
    return { dir: v.mountpoint };
  } catch (err) {
    return {
      why: `${v.mountpoint} is not readable here (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
}

/**
 * The volume's tar (archive API of a helper that is created but never started) streamed into
 * restic as it comes: parsed on the way (a cut or malformed archive fails the backup), hashed, and
 * the sha256 of every regular file streamed into a second snapshot (what drills check). No temp
 * file; memory stays flat. Services that must be stopped for a consistent copy are stopped around
 * it, and pre/post hooks run (see withConsistency).
 */
export async function backupVolume(
  ctx: ToolContext,
  store: BackupStore,
  id: string,
  reason: Reason,
  key: string,
  /**
   * On Swarm: the node whose engine `ctx.docker` is, the entry's target (`key`, or `key@node` when
   * the volume is on several nodes), and an image for the helper should no task container be left there.
   */
  at?: { node: string; target: string; image?: string },
): Promise<ComponentEntry> {
  const v = await resolveVolume(ctx, key, at?.image);
  const direct = await volumeDirectory(ctx, v);
  const target = at?.target ?? key;
  const where = at ? { node: at.node } : {};
  return withConsistency(ctx, v, async (signal, consistency) => {
    let engineWhy = 'why' in direct ? direct.why : '';
    if ('dir' in direct) {
      try {
        return await backupTree(ctx, store, { id, reason, key, dir: direct.dir, v, consistency, signal });
      } catch (err) {
        // Files doom-ops may not read (another user's 0600 file): the engine reads them as root.
        if (!(err instanceof UnreadableFilesError) || signal.aborted) throw err;
        // The items carry their reasons; restic's incomplete snapshot is removed when the backup is
        // written (BackupStore.leftovers), else by the next prune.
        engineWhy = `restic could not read ${err.paths.slice(0, 3).join(', ')}${err.paths.length > 3 ? ` and ${err.paths.length - 3} more` : ''} in ${direct.dir}`;
      }
    }
    const helper = await createHelper(ctx.docker, {
      image: v.image,
      mounts: [{ volume: v.name, target: MOUNT, readOnly: true }],
      purpose: `backup ${v.name}`,
      signal,
    });
    try {
      const hash = new HashCount(byteProgress(ctx, `volume ${target}`));
      const tar = new TarCheck({ sums: true });
      const source = await readArchive(ctx.docker, helper, MOUNT, signal);
      // Errors anywhere destroy every stream with the error; restic sees it on its input and saves nothing.
      pipelineCb(source, tar, hash, () => undefined);
      const [data, sums] = await Promise.all([
        store.writeData(hash, { id, component: 'volumes', target, reason }),
        store.writeSums(tar.sums!, { id, target, reason }),
      ]).catch((err) => {
        hash.destroy();
        tar.sums?.destroy();
        throw err;
      });
      return {
        component: 'volumes',
        target,
        file: null,
        bytes: hash.bytes,
        sha256: hash.digest(),
        snapshot: data.snapshotId,
        path: data.path,
        sums: sums.snapshotId,
        details: {
          volume: v.name,
          ...where,
          usedBy: v.owners.map((o) => o.name),
          tarEntries: tar.entries,
          files: tar.files,
          fileBytes: tar.fileBytes,
          bytesAdded: data.bytesAdded,
          access: 'engine',
          accessWhy: engineWhy,
          ...consistency,
        },
        checkedWhileWriting: `tar parsed (${tar.entries} entries) and hashed while streaming into restic`,
      };
    } finally {
      await removeHelper(ctx.docker, helper);
    }
  });
}

/**
 * restic reads the volume's directory itself (file by file, skipping files unchanged since the
 * last snapshot of that directory). The entry records restic's counts; restic's content hashes
 * are the per-file checksums a drill relies on.
 */
async function backupTree(
  ctx: ToolContext,
  store: BackupStore,
  o: {
    id: string;
    reason: Reason;
    key: string;
    dir: string;
    v: ResolvedVolume;
    consistency: ConsistencyInfo;
    /** Ends with the run, or when services stopped for consistency reach backup.stopMax. */
    signal: AbortSignal;
  },
): Promise<ComponentEntry> {
  const r = await store.writeTree(o.dir, {
    id: o.id,
    target: o.key,
    reason: o.reason,
    onProgress: byteProgress(ctx, `volume ${o.key}`),
    signal: o.signal,
  });
  return {
    component: 'volumes',
    target: o.key,
    file: null,
    bytes: r.totalBytes,
    sha256: null,
    snapshot: r.snapshotId,
    tree: basename(o.dir),
    details: {
      volume: o.v.name,
      usedBy: o.v.owners.map((w) => w.name),
      files: r.files,
      filesUnchanged: r.filesUnchanged,
      fileBytes: r.totalBytes,
      bytesAdded: r.bytesAdded,
      access: 'directory',
      directory: o.dir,
      ...(r.warnings.length ? { changedWhileRead: r.warnings } : {}),
      ...o.consistency,
    },
    checkedWhileWriting: `restic backed up ${r.files} file(s) from ${o.dir} (${r.filesUnchanged} unchanged since the last backup, not read again), hashing every chunk it read`,
  };
}

/** Reads a whole archive (plain tar from restic, or a legacy tar.gz file): it must parse. Returns the entry count. */
export async function checkTar(source: Readable, gzip = false): Promise<number> {
  const tar = new TarCheck();
  const drain = async (s: AsyncIterable<unknown>) => {
    for await (const _ of s);
  };
  if (gzip) await pipeline(source, createGunzip(), tar, drain);
  else await pipeline(source, tar, drain);
  return tar.entries;
}

/** Where a helper mounts a volume so that `tar`'s root entry lands on it: /volume, or /<tree root>. */
export function archiveMount(e: Pick<ComponentEntry, 'tree'>): string {
  return e.tree ? `/${e.tree}` : MOUNT;
}

/**
 * What an emptying helper prepared ahead runs: nothing at all unless the line `empty` arrives on
 * its stdin (end of input, or any other line, exits 97), then `find` removes the volume's content.
 */
const GATED_EMPTY =
  'read -r go && [ "$go" = empty ] || exit 97; exec find "$0" -mindepth 1 -maxdepth 1 -exec rm -rf {} +';
const GATE_CLOSED = 97;

/** The helper that will empty a volume, created and started ahead, waiting at its gate (see prepareVolumeRestore). */
export interface PreparedVolume {
  /** The engine's name of the volume it mounts. */
  volume: string;
  helper: string;
  gate: { open(line: string, signal?: AbortSignal): Promise<number>; close(): void };
  /** Closes the gate (unopened: nothing is touched) and removes the helper; safe to call again. */
  discard(): Promise<void>;
}

/**
 * Creates and starts, ahead of restoring `entry` (while the restore still checks its backup), the
 * helper that will empty its volume: `sh` in the volume's image, its mount where the archive's root
 * entry lands, waiting at a gate. The volume is not touched until replaceVolumeContent opens the
 * gate; the container's start-up is then already done. Null (never an error) when it cannot be had,
 * e.g. an image without `sh`: the volume is then emptied the plain way.
 */
export async function prepareVolumeRestore(
  ctx: ToolContext,
  entry: ComponentEntry,
  fallbackImage?: string,
): Promise<PreparedVolume | null> {
  let helper: string | undefined;
  try {
    const v = await resolveVolume(ctx, entry.target, fallbackImage);
    const mount = archiveMount(entry);
    helper = await createHelper(ctx.docker, {
      image: v.image,
      mounts: [{ volume: v.name, target: mount, readOnly: false }],
      cmd: ['sh', '-c', GATED_EMPTY, mount],
      purpose: `restore ${v.name}`,
      signal: ctx.signal,
      stdin: true,
    });
    const gate = await startGated(ctx.docker, helper, ctx.signal);
    const id = helper;
    let discarded: Promise<void> | undefined;
    return {
      volume: v.name,
      helper: id,
      gate,
      discard() {
        discarded ??= (async () => {
          gate.close();
          await removeHelper(ctx.docker, id);
        })();
        return discarded;
      },
    };
  } catch {
    if (helper) await removeHelper(ctx.docker, helper);
    return null;
  }
}

/**
 * Empties a volume through a helper running `find … -exec rm` from `image` (the one `prepared`
 * ahead when given, else a new one), then extracts `tar` into it. `mount`: where the helper mounts
 * the volume, so that the tar's root entry lands on it (`/volume` for the Engine API's archive of
 * /volume, `/_data` for restic's dump of a directory snapshot).
 */
export async function replaceVolumeContent(
  ctx: ToolContext,
  volume: string,
  image: string,
  tar: Readable,
  signal: AbortSignal,
  mount = MOUNT,
  prepared?: PreparedVolume | null,
): Promise<void> {
  if (prepared) {
    try {
      const code = await prepared.gate.open('empty', signal);
      // The gate was shut before the line came (its connection dropped): empty it the plain way.
      if (code !== GATE_CLOSED) {
        emptied(code, volume, image);
        await writeArchive(ctx.docker, prepared.helper, '/', tar, signal);
        return;
      }
    } finally {
      await prepared.discard();
    }
  }
  const helper = await createHelper(ctx.docker, {
    image,
    mounts: [{ volume, target: mount, readOnly: false }],
    // Portable across GNU and busybox find (busybox builds may lack -delete).
    cmd: ['find', mount, '-mindepth', '1', '-maxdepth', '1', '-exec', 'rm', '-rf', '{}', '+'],
    purpose: `restore ${volume}`,
    signal,
  });
  try {
    emptied(await runHelper(ctx.docker, helper, signal), volume, image);
    // The archive's root entry is the mount point's own name, so it lands back on the volume.
    await writeArchive(ctx.docker, helper, '/', tar, signal);
  } finally {
    await removeHelper(ctx.docker, helper);
  }
}

/** Throws unless the emptying helper exited 0. */
function emptied(code: number, volume: string, image: string): void {
  if (code !== 0)
    throw new ToolError('failed', `could not empty volume ${volume} before restoring (find exited ${code})`, {
      hint: `the image ${image} needs find and rm; restore by hand or use an owner image that has it`,
    });
}

/**
 * Stops the containers using the volume, empties it, extracts the archive into it (streamed from
 * restic, or a legacy tar.gz file), and starts again what was running (`alsoStart`: containers an
 * interrupted restore left stopped). `prepared`: its emptying helper, started ahead.
 */
export async function restoreVolume(
  ctx: ToolContext,
  entry: ComponentEntry,
  source: () => Readable,
  hooks: { onStopped?: (names: string[]) => Promise<void>; alsoStart?: string[] } = {},
  prepared?: PreparedVolume | null,
): Promise<{ volume: string; stopped: string[]; started: string[] }> {
  const v = await resolveVolume(ctx, entry.target);
  // Prepared for another volume (this one was removed and made again meanwhile): not used.
  const helper = prepared?.volume === v.name ? prepared : null;
  if (prepared && !helper) await prepared.discard();
  const running = v.owners.filter((o) => o.running || hooks.alsoStart?.includes(o.name));
  // Recorded before anything is stopped: a kill during the stop still leaves the names to start.
  await hooks.onStopped?.(running.map((o) => o.name));
  await whileStopped(ctx.docker, running, ctx.signal, async () => {
    // restic starts now: its start-up overlaps the emptying.
    const data = source();
    await replaceVolumeContent(ctx, v.name, v.image, data, ctx.signal, archiveMount(entry), helper).catch(
      (err: unknown) => {
        // Not read (the emptying failed) or cut short: restic is stopped, not left blocked on its pipe.
        data.destroy();
        throw err;
      },
    );
  });
  return { volume: v.name, stopped: running.map((o) => o.name), started: running.map((o) => o.name) };
}

/** A legacy backup's archive file as a tar stream. */
export function legacyTar(dir: string, entry: ComponentEntry): Readable {
  return createReadStream(join(dir, entry.file!)).pipe(createGunzip());
}
