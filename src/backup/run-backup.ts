import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { removeOrphanHelpers } from '../adapters/docker/helper.js';
import { DamagedSnapshotsError, type ResticSnapshot } from '../adapters/restic/repository.js';
import { isToolError, ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { redactForProject } from '../tools/lib/secrets.js';
import { stackKind } from '../tools/lib/stack-kind.js';
import { fileSystemError } from '../util/fs-errors.js';
import { VERSION } from '../version.js';
import { BackupCatalog } from './catalog.js';
import { startLeftStopped } from './components/consistency.js';
import { backupDuckdb } from './components/duckdb.js';
import { backupMongo } from './components/mongodb.js';
import { backupOpenSearch } from './components/opensearch.js';
import { backupVolume, stackVolumeKeys } from './components/volumes.js';
import { describeInterrupted, readJournal, touchedData } from './journal.js';
import {
  COMPONENTS,
  type Component,
  type ComponentEntry,
  type Manifest,
  type Phase,
  type Verification,
  verificationSchema,
} from './manifest.js';
import { reasonOf } from './reason.js';
import { localRepository, type OpenRepository, offsiteRepositories } from './repository.js';
import { BackupStore, type Reason } from './store.js';
import {
  imageFor,
  onePlace,
  type Placement,
  removeOrphanHelpersOnNodes,
  swarmServicePlaces,
  swarmVolumeKeys,
  swarmVolumePlaces,
} from './swarm-places.js';

/**
 * Backups written before restic: `<backupDir>/<project>/<id>/` with MANIFEST.json and the files.
 * Still listed, verified and restorable; never written any more.
 */
export function catalogOf(ctx: Pick<ToolContext, 'config' | 'project'>): BackupCatalog {
  return new BackupCatalog(join(ctx.config.backup.dir, ctx.project));
}

export function storeOf(ctx: ToolContext, open: OpenRepository): BackupStore {
  return new BackupStore(ctx.config, ctx.project, open, ctx.signal);
}

/** Backup ids this process gave out (`serve` runs many backups; the listing may run alongside). */
const idsUsedHere = new Set<string>();

function newId(kind: string): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${kind}`;
}

export interface Failure {
  component: string;
  target?: string;
  reason: string;
}

export interface BackupRun {
  manifest: Manifest;
  verification: Verification;
  /** The local repository (display URL). */
  repository: string;
  offsite: Array<{ name: string; ok: boolean; detail: string }>;
  /** Things the user must know (a key generated for the local repository, and where). */
  notes: string[];
}

export { reasonOf };

/**
 * Writes one backup into the local restic repository: each component target streamed into its own
 * snapshot (see BackupStore), each failure caught and recorded so the rest is still saved, then
 * copied to every offsite repository, then the manifest (the commit point: a backup without one
 * is incomplete, and the next backup removes its snapshots). Phase: Completed (nothing failed),
 * PartiallyFailed (some components or an offsite copy failed; the rest is restorable) or Failed
 * (nothing saved). `targets` limits the volumes/duckdb component to those keys/agents (a safety
 * backup before a restore). The caller holds the stack lock.
 * Errors: ToolError not_found when there is nothing at all to back up; cancelled; repository
 * errors (wrong password, unreachable) before anything is written.
 */
export async function runBackup(
  ctx: ToolContext,
  kind: Component | 'full',
  reason: Reason,
  opts: { protects?: string; targets?: string[] } = {},
): Promise<BackupRun> {
  const local = await localRepository(ctx.config, { create: true });
  // Offsite settings are checked before anything is written (a missing password is a config error).
  const targets = await offsiteRepositories(ctx.config);
  const store = storeOf(ctx, local);
  ctx.progress({ progress: 0, message: `opening restic repository ${store.repo.displayUrl}` });
  // The listing (which backups exist, which were left incomplete) is one restic run. For a local
  // repository that exists it runs alongside the backup, which needs it only at the end (the id
  // check, removing leftovers); otherwise it comes first, and the repository is created when missing.
  let created = false;
  let damaged: DamagedSnapshotsError | undefined;
  const tolerant = (p: Promise<ResticSnapshot[]>) =>
    p.catch((err) => {
      // A new backup can still be written; what the unloadable snapshots belonged to is unknown.
      if (!(err instanceof DamagedSnapshotsError)) throw err;
      damaged = err;
      return err.readable;
    });
  let listing: Promise<ResticSnapshot[]>;
  let listedFirst: ResticSnapshot[] = [];
  const fromCache = await store.repo.cachedSnapshots(['doom-ops', `stack=${ctx.project}`]);
  if (fromCache) {
    // Unchanged since the last listing or backup: known now, without a restic run.
    listedFirst = fromCache;
    listing = Promise.resolve(fromCache);
  } else if (await store.repo.existsLocally()) {
    listing = tolerant(store.stackSnapshots({ cached: true }));
    listing.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  } else {
    listedFirst = await tolerant(
      store.stackSnapshots({ cached: true }).catch(async (err) => {
        if (!(isToolError(err) && err.code === 'not_found')) throw err;
        created = (await store.repo.ensureRepository({ signal: ctx.signal })).created;
        return store.stackSnapshots({ cached: true });
      }),
    );
    listing = Promise.resolve(listedFirst);
  }
  store.listing = listing;
  await removeOrphanHelpers(ctx.docker, ctx.signal);
  if ((await stackKind(ctx)) === 'swarm') await removeOrphanHelpersOnNodes(ctx);
  // Services a killed backup left stopped come back first.
  const restarted = await startLeftStopped(ctx);

  // Ids have one-second resolution; several backups within a second get -2, -3, … (the stack lock
  // makes this check-then-create safe for the stack; a listing that runs alongside is checked at the end).
  const taken = new Set([
    ...idsUsedHere,
    ...listedFirst.flatMap((s) => s.tags.filter((t) => t.startsWith('backup=')).map((t) => t.slice(7))),
    ...(await catalogOf(ctx).list()).map((e) => e.id),
  ]);
  const base = newId(kind);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  idsUsedHere.add(id);
  // Its restic starts now (key derivation and index loading overlap the data); nothing is saved
  // unless write() hands it the manifest.
  const manifestWriter = store.openManifest({ id, reason });
  try {
    return await writeBackup();
  } catch (err) {
    // No restic of this backup outlives it (a cancelled listing is stopped by the same signal).
    await Promise.all([manifestWriter.abort(), listing.catch(() => undefined)]);
    throw err;
  }

  async function writeBackup(): Promise<BackupRun> {
    let listingFailed: string | undefined;
    const swarm = (await stackKind(ctx)) === 'swarm';
    const components: Component[] = kind === 'full' ? [...COMPONENTS] : [kind];
    const entries: ComponentEntry[] = [];
    const failures: Failure[] = [];
    const skipped: string[] = [];
    // Data an interrupted (or running) restore has begun to overwrite is neither the old data nor
    // the backup's: a copy of it is no backup, and would count as the newest one in retention.
    const journal = await readJournal(ctx.config, ctx.project);
    const restoring = journal && touchedData(journal) ? journal : null;
    const halfRestored = (component: Component, target: string | undefined): boolean =>
      !!restoring &&
      restoring.component === component &&
      // The volumes listing itself (no target yet) goes ahead; each volume is checked.
      (target === undefined
        ? component !== 'volumes'
        : restoring.targets.length === 0 || restoring.targets.includes(target));
    const attempt = async (component: Component, target: string | undefined, work: () => Promise<void>) => {
      if (restoring && halfRestored(component, target)) {
        failures.push({
          component,
          ...(target ? { target } : {}),
          reason: `not backed up: its data is half-restored (${describeInterrupted(restoring)})`,
        });
        return;
      }
      try {
        await work();
      } catch (err) {
        // A cancellation, or a repository that cannot take data (full, unreachable, wrong password,
        // locked), ends the whole backup; anything else fails this component only.
        if (ctx.signal.aborted) throw err;
        if (repositoryFailure(err)) throw await repositoryError(err, store, id, ctx);
        // Stored in the manifest and listed later: masked now (a hook's output may hold any secret).
        failures.push({
          component,
          ...(target ? { target } : {}),
          reason: await redactForProject(ctx, reasonOf(err)),
        });
      }
    };
    for (const c of components) {
      ctx.progress({ progress: entries.length, message: `backing up ${c}` });
      if (c === 'mongodb')
        await attempt(c, undefined, async () => {
          // On Swarm mongodump runs in the task's container, through its node's engine.
          const here = swarm
            ? (await onePlace(ctx, ctx.config.backup.mongodb.service, 'cannot back up MongoDB')).ctx
            : ctx;
          entries.push(await backupMongo(here, store, id, reason));
        });
      else if (c === 'opensearch')
        await attempt(c, undefined, async () => {
          entries.push(await backupOpenSearch(ctx, store, id, reason));
        });
      else if (c === 'duckdb')
        await attempt(c, undefined, async () => {
          const r = swarm
            ? await backupDuckdbOnSwarm(ctx, store, id, reason)
            : await backupDuckdb(ctx, store, id, reason);
          const wanted = (e: { target: string }) => !opts.targets || opts.targets.includes(e.target);
          entries.push(...r.entries.filter(wanted));
          failures.push(...r.failures.filter(wanted).map((f) => ({ component: 'duckdb', ...f })));
          if (r.entries.length + r.failures.length === 0)
            skipped.push(`duckdb: no running ${ctx.config.backup.duckdb.service} container`);
        });
      else {
        let keys: string[] = [];
        await attempt(c, undefined, async () => {
          // A target of a volume on several swarm nodes is key@node.
          keys = opts.targets
            ? [...new Set(opts.targets.map((t) => t.split('@')[0]!))]
            : swarm
              ? await swarmVolumeKeys(ctx)
              : await stackVolumeKeys(ctx);
        });
        if (keys.length === 0 && !failures.some((f) => f.component === 'volumes'))
          skipped.push(
            `volumes: project ${ctx.project} has no named volumes (or backup.exclude removes them all)`,
          );
        for (const key of keys) {
          if (!swarm) {
            await attempt(c, key, async () => {
              ctx.progress({ progress: entries.length, message: `backing up volume ${key}` });
              entries.push(await backupVolume(ctx, store, id, reason, key));
            });
            continue;
          }
          // Swarm volumes are node-local: each node's copy is archived through that node's engine.
          let at: Placement = { places: [], unreachable: [] };
          await attempt(c, key, async () => {
            at = await swarmVolumePlaces(ctx, key);
            if (at.places.length + at.unreachable.length === 0)
              throw new ToolError('not_found', `volume ${ctx.project}_${key} is on no node of the swarm`, {
                hint: 'it is created on a node when a task mounting it first starts there (doom-ops health)',
              });
          });
          const several = at.places.length + at.unreachable.length > 1;
          const targetOf = (node: string) => (several ? `${key}@${node}` : key);
          for (const u of at.unreachable)
            if (
              !opts.targets ||
              [key, targetOf(u.node), `${key}@${u.node}`].some((t) => opts.targets!.includes(t))
            )
              failures.push({ component: c, target: targetOf(u.node), reason: `not backed up: ${u.why}` });
          // The image of a service mounting it, for a node where no task container is left.
          const image = at.places.length ? await imageFor(ctx, key).catch(() => undefined) : undefined;
          for (const p of at.places) {
            const target = targetOf(p.node);
            // A safety backup names the copy it protects: key, key@node (also when one node holds it now).
            const wanted =
              !opts.targets || [key, target, `${key}@${p.node}`].some((t) => opts.targets!.includes(t));
            if (!wanted) continue;
            await attempt(c, target, async () => {
              ctx.progress({
                progress: entries.length,
                message: `backing up volume ${target} on node ${p.node}`,
              });
              entries.push(
                await backupVolume(p.ctx, store, id, reason, key, {
                  node: p.node,
                  target,
                  ...(image ? { image } : {}),
                }),
              );
            });
          }
        }
      }
    }
    if (entries.length === 0 && failures.length === 0)
      throw new ToolError('not_found', `nothing to back up for ${kind}: ${skipped.join('; ')}`, {
        hint: 'start the services that hold the data, or pick another component',
      });

    const offsite: BackupRun['offsite'] = [];
    for (const o of entries.length ? targets : []) {
      ctx.progress({ progress: entries.length, message: `copying to offsite repository ${o.name}` });
      try {
        await o.repo.ensureRepository({ chunkerParamsFrom: store.repo, signal: ctx.signal });
        await store.repo.copyTo(o.repo, {
          tags: [`stack=${ctx.project}`, `backup=${id}`],
          signal: ctx.signal,
        });
        offsite.push({ name: o.name, ok: true, detail: `copied to ${o.repo.displayUrl}` });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const why = reasonOf(err);
        offsite.push({ name: o.name, ok: false, detail: why });
        failures.push({
          component: 'offsite',
          target: o.name,
          reason: `copy to ${o.repo.displayUrl} failed, the backup is only in the local repository: ${why}`,
        });
      }
    }

    const phase: Phase = failures.length === 0 ? 'Completed' : entries.length ? 'PartiallyFailed' : 'Failed';
    const manifest: Manifest = {
      id,
      created: new Date().toISOString(),
      stack: ctx.project,
      tool: { name: 'doom-ops', version: VERSION },
      kind,
      reason,
      components: entries,
      format: 'restic',
      phase,
      failures,
      skipped,
      ...(opts.protects ? { protects: opts.protects } : {}),
    };
    const verification: Verification = {
      verifiedAt: manifest.created,
      ok: true,
      checks: entries.map((e) => ({
        component: e.component,
        target: e.target,
        ok: true,
        detail:
          e.component === 'duckdb'
            ? `read back from restic: sha256 ok, DuckDB opens (${
                Object.entries((e.details.tables as Record<string, number>) ?? {})
                  .map(([t, n]) => `${t}: ${n} rows`)
                  .join(', ') || 'no tables'
              })`
            : (e.checkedWhileWriting ??
              `hashed while streaming into restic (sha256 ${e.sha256?.slice(0, 16)}…)`),
      })),
    };
    // The listing run alongside may already show this backup's own snapshots: they are not leftovers.
    // A listing that failed after the data went in (restic killed, an I/O error) costs the checks
    // that need it, not the backup: it is written, and a note says what was skipped.
    const listed = await listing.catch((err: unknown) => {
      listingFailed = reasonOf(err);
      return null;
    });
    const existing = (listed ?? []).filter((s) => !s.tags.includes(`backup=${id}`));
    if (listed?.some((s) => s.tags.includes(`backup=${id}`) && s.tags.includes('role=manifest'))) {
      // A committed backup with this id (a backup of this stack in the same second, from another
      // process or host writing the same repository): this one's data goes rather than mix with it.
      // The manifest's restic holds a lock until it has exited; stale locks go first.
      await manifestWriter.abort();
      const ours = [
        ...entries.flatMap((e) => [e.snapshot, e.sums]).filter((x): x is string => !!x),
        ...store.leftovers,
      ];
      await store.repo.unlock(ctx.signal).catch(() => undefined);
      const removedAgain = await store.repo.forgetIds(ours, ctx.signal).then(
        () => "this backup's data was removed again",
        (err: unknown) =>
          `this backup's data could not be removed (${reasonOf(err)}): remove it with restic forget ${ours.join(' ')}`,
      );
      throw new ToolError(
        'conflict',
        `cannot back up ${ctx.project}: backup id ${id} was taken in ${store.repo.displayUrl} while this backup ran; ${removedAgain}`,
        { hint: 'run the backup again (it gets a new id); give each host its own stack name or repository' },
      );
    }
    ctx.progress({ progress: entries.length, message: 'writing the manifest' });
    await manifestWriter.write(manifest);
    await saveVerification(ctx, store, id, verification);
    // The manifest goes offsite too, so an offsite repository alone is enough to restore.
    for (const o of targets)
      if (offsite.find((x) => x.name === o.name)?.ok)
        await store.repo
          .copyTo(o.repo, {
            tags: [`stack=${ctx.project}`, `backup=${id}`, 'role=manifest'],
            signal: ctx.signal,
          })
          .catch((err) => {
            const row = offsite.find((x) => x.name === o.name)!;
            row.ok = false;
            row.detail = `the data was copied but the manifest was not: ${reasonOf(err)}`;
          });

    const notes: string[] = restarted.map(
      (n) =>
        `started ${n} again: an earlier backup stopped it for consistency and was killed before starting it`,
    );
    for (const c of manifest.components)
      if (c.details.access === 'engine' && /^restic could not read/.test(String(c.details.accessWhy)))
        notes.push(
          `volume ${c.target}: ${String(c.details.accessWhy)} on this host, so it was streamed through the Engine API instead (every backup of it reads the whole volume). Run doom-ops as a user that can read the volume's directory to back it up incrementally`,
        );
      else if (Array.isArray(c.details.changedWhileRead) && c.details.changedWhileRead.length)
        notes.push(
          `volume ${c.target}: ${c.details.changedWhileRead.length} file(s) vanished while restic read the volume's directory (a service was writing to it; the backup has every file that existed when it was read): ${c.details.changedWhileRead.slice(0, 3).join('; ')}. Label the service doom-ops.backup.stop=true for a still copy`,
        );
    if (damaged)
      notes.push(
        `the repository is damaged: restic could not load ${damaged.unreadable.length} snapshot file(s) (${damaged.unreadable.slice(0, 3).join(', ')}); this backup was written, but leftovers of interrupted backups were not removed. ${damaged.hint ?? ''}`.trim(),
      );
    if (created && local.passwordLocation.startsWith('generated'))
      notes.push(
        `created the local restic repository ${store.repo.displayUrl}; its key is the ${local.passwordLocation}. Keep a copy of that key somewhere other than this host: without it no backup in the repository can be read`,
      );
    // This run's incomplete snapshots (a volume restic could not read whole, saved again through the
    // engine) go once the manifest is written; left, they are snapshots its manifest does not name,
    // which prune removes.
    if (store.leftovers.length) {
      await store.repo.unlock(ctx.signal).catch(() => undefined);
      await store.repo
        .forgetIds(store.leftovers, ctx.signal)
        .catch((err: unknown) =>
          notes.push(
            `restic's incomplete snapshot(s) ${store.leftovers.join(', ')} of this backup could not be removed (${reasonOf(err)}); the next prune removes them`,
          ),
        );
    }
    // Leftovers of interrupted backups go once this one is committed. With snapshots restic could not
    // load, a backup without a readable manifest may be a complete one whose manifest is among them.
    if (listingFailed)
      notes.push(
        `listing the repository's earlier backups failed (${listingFailed}): leftovers of interrupted backups were not removed this time`,
      );
    const removed = damaged || listingFailed ? [] : await removeIncomplete(store, existing, id);
    // The next backup's listing needs no restic run while the repository holds just these changes
    // (this run's leftovers, forgotten above, were never in it).
    await store.repo.recordInListingCache(store.written, removed);
    return { manifest, verification, repository: store.repo.displayUrl, offsite, notes };
  }
}

/**
 * A failure of the repository side of a backup (restic could not store the data), as opposed to
 * the data's side (mongodump failed, OpenSearch is down, a pre hook failed): the next component
 * would fail the same way, so the backup stops.
 */
function repositoryFailure(err: unknown): boolean {
  if (!isToolError(err) || !/ to restic repository /.test(err.message)) return false;
  if (/reading the data failed/.test(err.message)) return false;
  return (
    /no space left on device|disk quota exceeded|read-only file system/i.test(err.message) ||
    ['config_invalid', 'upstream_unavailable', 'busy', 'not_found'].includes(err.code)
  );
}

/** A full disk under a local repository is said as such, with the free space and the setting. */
async function repositoryError(
  err: unknown,
  store: BackupStore,
  id: string,
  ctx: ToolContext,
): Promise<unknown> {
  const m = /no space left on device|disk quota exceeded|read-only file system/i.exec((err as Error).message);
  const dir = store.repo.url.replace(/^local:/, '');
  if (!m || /^[a-z0-9]+:/i.test(store.repo.url.replace(/^local:/, ''))) return err;
  const code = /space/i.test(m[0]) ? 'ENOSPC' : /quota/i.test(m[0]) ? 'EDQUOT' : 'EROFS';
  return fileSystemError(Object.assign(new Error(m[0]), { code }), {
    what: `write backup ${id}`,
    dir,
    setting: ctx.config.backup.repository.url ? 'backup.repository.url' : 'backup.dir (DOOM_OPS_BACKUP_DIR)',
  });
}

/**
 * Snapshots of backups that died before their manifest was written, or while restic held it (an
 * empty or cut manifest), among `snapshots` (listed before this backup's manifest; the stack lock
 * is held, so none of this stack's backups is running). Removing them needs restic's exclusive
 * lock: if another stack is using the repository, or anything fails, they are left for the next backup.
 */
async function removeIncomplete(
  store: BackupStore,
  snapshots: ResticSnapshot[],
  current: string,
): Promise<string[]> {
  try {
    const incomplete = async (list: ResticSnapshot[]) =>
      (await store.list(list))
        .filter((b) => b.state === 'incomplete')
        .flatMap((b) => b.snapshots.map((s) => s.id));
    if ((await incomplete(snapshots)).length === 0) return [];
    // The listing may have come from the cache: what is removed is decided on restic's own listing.
    const fresh = (await store.stackSnapshots()).filter((s) => !s.tags.includes(`backup=${current}`));
    const ids = await incomplete(fresh);
    if (ids.length === 0) return [];
    // Their restic processes were killed: their stale locks go first (forget needs the exclusive lock).
    await store.repo.unlock(store.signal).catch(() => undefined);
    await store.repo.forgetIds(ids, store.signal);
    return ids;
  } catch {
    // Left for the next backup.
    return [];
  }
}

// ---- verification results, kept beside the state (a restic snapshot is immutable) -------------

function verificationFile(ctx: Pick<ToolContext, 'config' | 'project'>, store: BackupStore, id: string) {
  return join(
    resolve(ctx.config.stateDir),
    'restic',
    'verification',
    store.open.name,
    ctx.project,
    `${id}.json`,
  );
}

export async function saveVerification(
  ctx: Pick<ToolContext, 'config' | 'project'>,
  store: BackupStore,
  id: string,
  v: Verification,
): Promise<void> {
  const file = verificationFile(ctx, store, id);
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, JSON.stringify(v, null, 2));
  await rename(`${file}.tmp`, file);
}

export async function loadVerification(
  ctx: Pick<ToolContext, 'config' | 'project'>,
  store: BackupStore,
  id: string,
): Promise<Verification | null> {
  const text = await readFile(verificationFile(ctx, store, id), 'utf8').catch(() => null);
  if (!text) return null;
  const r = verificationSchema.safeParse(JSON.parse(text));
  return r.success ? r.data : null;
}

/**
 * The duckdb component on Swarm: backupDuckdb on every node where an agent task runs, through
 * that node's engine; a node running agents without an endpoint is one failure naming it.
 */
async function backupDuckdbOnSwarm(
  ctx: ToolContext,
  store: BackupStore,
  id: string,
  reason: Reason,
): ReturnType<typeof backupDuckdb> {
  const at = await swarmServicePlaces(ctx, ctx.config.backup.duckdb.service);
  const out: Awaited<ReturnType<typeof backupDuckdb>> = {
    entries: [],
    failures: at.unreachable.map((u) => ({ target: `node ${u.node}`, reason: `not backed up: ${u.why}` })),
  };
  for (const p of at.places) {
    const r = await backupDuckdb(p.ctx, store, id, reason);
    out.entries.push(...r.entries.map((e) => ({ ...e, details: { ...e.details, node: p.node } })));
    out.failures.push(...r.failures);
  }
  return out;
}
