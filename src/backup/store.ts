import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  DamagedSnapshotsError,
  type ResticSnapshot,
  UnreadableFilesError,
} from '../adapters/restic/repository.js';
import type { Config } from '../config/schema.js';
import { isToolError, ToolError } from '../errors.js';
import { type Component, type ComponentEntry, type Manifest, manifestSchema } from './manifest.js';
import type { OpenRepository } from './repository.js';

/**
 * Backups in a restic repository. Every snapshot doom-ops writes carries the tags `doom-ops`,
 * `stack=<project>`, `backup=<id>` and `role=…`:
 *  - role=data: one component target's bytes, `<stack>/<component>/<target><ext>` (a safety backup:
 *    `<stack>/pre-restore/<component>/<target><ext>`), also tagged component=, target=, reason=.
 *    A volume read from its directory on this host is a snapshot of that directory instead (its
 *    path: the engine's Mountpoint; the directory, `_data`, at the root; entry.tree).
 *    Retention groups these by host, kind and the component and target tags, so each stack,
 *    component and target is its own group.
 *  - role=sums: `sha256  path` of every regular file of a volume archive (what a drill checks).
 *  - role=manifest: the backup's MANIFEST.json, written last: a backup without one is incomplete.
 * The snapshot host is always "doom-ops" (a container's hostname changes with every run).
 */
export const SNAPSHOT_HOST = 'doom-ops';
const EXT: Record<Component, string> = {
  volumes: '.tar',
  mongodb: '.archive.gz',
  duckdb: '.duckdb',
  opensearch: '.json',
};

export type Reason = 'requested' | 'pre-restore';

/** A backup in the repository: its manifest (entries whose data snapshot was pruned are dropped). */
export interface StoredBackup {
  id: string;
  state: 'complete' | 'incomplete';
  manifest: Manifest | null;
  /** Every snapshot of this backup (data, sums, manifest). */
  snapshots: ResticSnapshot[];
  /** Entries the manifest lists whose data is no longer in the repository (pruned). */
  pruned: ComponentEntry[];
}

function tagValue(tags: string[], key: string): string | undefined {
  const t = tags.find((x) => x.startsWith(`${key}=`));
  return t?.slice(key.length + 1);
}

export class BackupStore {
  constructor(
    readonly config: Config,
    readonly project: string,
    readonly open: OpenRepository,
    readonly signal?: AbortSignal,
  ) {}

  /** The stack's snapshots as a backup listed them at its start (set by runBackup), for choosing parents. */
  listing?: Promise<ResticSnapshot[]>;
  /** Incomplete snapshots this run left (writeTree's keepIncomplete), removed once the backup is written. */
  readonly leftovers: string[] = [];

  get repo() {
    return this.open.repo;
  }

  /** The repository's words for messages: "local repository /x" or "offsite repository name (url)". */
  get label(): string {
    return this.open.offsite
      ? `offsite repository ${this.open.name} (${this.repo.displayUrl})`
      : `local repository ${this.repo.displayUrl}`;
  }

  /** Path of a component target's file inside its snapshot. */
  dataPath(component: Component, target: string, reason: Reason): string {
    return [
      this.project,
      ...(reason === 'pre-restore' ? ['pre-restore'] : []),
      component,
      `${target}${EXT[component]}`,
    ].join('/');
  }

  private baseTags(id: string, role: 'data' | 'sums' | 'manifest'): string[] {
    return ['doom-ops', `stack=${this.project}`, `backup=${id}`, `role=${role}`];
  }

  /** Streams one component target into a new snapshot. Returns the snapshot id and the bytes restic added. */
  async writeData(
    input: Readable,
    o: { id: string; component: Component; target: string; reason: Reason; onProgress?: (n: number) => void },
  ) {
    const path = this.dataPath(o.component, o.target, o.reason);
    const tags = [
      ...this.baseTags(o.id, 'data'),
      `component=${o.component}`,
      `target=${o.target}`,
      `reason=${o.reason}`,
    ];
    const r = await this.repo.backupStream(input, {
      filename: path,
      host: SNAPSHOT_HOST,
      tags,
      ...(this.signal ? { signal: this.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      fullId: false,
    });
    this.wrote(r.snapshotId, [`/${path}`], tags);
    return { ...r, path };
  }

  /** Snapshots this run saved (restic's short ids, with what they were given), for the listing cache. */
  readonly written: Array<Omit<ResticSnapshot, 'shortId'>> = [];

  private wrote(id: string, paths: string[], tags: string[]): void {
    this.written.push({ id, paths, tags, hostname: SNAPSHOT_HOST, time: new Date().toISOString() });
  }

  /**
   * Backs up a volume's directory on this host file by file (restic's change detection makes the
   * next backup of the same directory read only changed files). The snapshot's path is `dir`, its
   * root holds the directory itself; its tags say component=volumes, target=, reason= like
   * writeData's. `signal` (default the store's) stops it. Errors: UnreadableFilesError when restic
   * was not allowed to read every file; ToolErrors of restic.
   */
  async writeTree(
    dir: string,
    o: { id: string; target: string; reason: Reason; onProgress?: (n: number) => void; signal?: AbortSignal },
  ) {
    const signal = o.signal ?? this.signal;
    const tags = [
      ...this.baseTags(o.id, 'data'),
      'component=volumes',
      `target=${o.target}`,
      `reason=${o.reason}`,
    ];
    const run = (parent?: string | null) =>
      this.repo.backupDirectory(dir, {
        host: SNAPSHOT_HOST,
        tags,
        ...(signal ? { signal } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(parent !== undefined ? { parent } : {}),
        fullId: false,
        // Removing it needs restic's exclusive lock, which the manifest's early restic run holds off.
        keepIncomplete: true,
      });
    try {
      const r = await run().catch(async (err: unknown) => {
        // restic gave up looking for the parent among snapshots it cannot load: name the newest
        // readable snapshot of this directory (or read every file when there is none).
        if (!(err instanceof DamagedSnapshotsError)) throw err;
        const readable = await (this.listing ?? this.stackSnapshots()).catch((e: unknown) => {
          if (e instanceof DamagedSnapshotsError) return e.readable;
          throw e;
        });
        const parent = readable
          .filter((x) => x.hostname === SNAPSHOT_HOST && x.paths.length === 1 && x.paths[0] === dir)
          .at(-1);
        return run(parent ? parent.id : null);
      });
      this.wrote(r.snapshotId, [dir], tags);
      return r;
    } catch (err) {
      if (err instanceof UnreadableFilesError && err.snapshotId) this.leftovers.push(err.snapshotId);
      throw err;
    }
  }

  /** Streams the `sha256  path` list of a volume's files into its own snapshot. */
  async writeSums(input: Readable, o: { id: string; target: string; reason: Reason }) {
    const path = `${this.dataPath('volumes', o.target, o.reason)}.sha256`;
    const tags = [...this.baseTags(o.id, 'sums'), 'component=volumes', `target=${o.target}`];
    const r = await this.repo.backupStream(input, {
      filename: path,
      host: SNAPSHOT_HOST,
      tags,
      ...(this.signal ? { signal: this.signal } : {}),
      fullId: false,
    });
    this.wrote(r.snapshotId, [`/${path}`], tags);
    return { ...r, path };
  }

  /**
   * Starts the restic run that will store the manifest (the backup's commit point) now, so its
   * start-up (key derivation, index loading) overlaps the data's; `write(m)` hands it the manifest
   * and resolves to the manifest snapshot's id once restic saved it; `abort()` stops it without
   * saving anything (restic is interrupted before its input ends) and resolves once restic has
   * exited (its lock gone). If this process is killed in between, restic sees its input end and may
   * save a manifest snapshot without the manifest file (restic 0.14 saves the stdin path's
   * directories when no byte came) or with a cut one: `list()` reads such a backup as incomplete (a
   * manifest that is missing or not whole JSON was never written; restic's own checks make a
   * damaged one fail to read instead).
   */
  openManifest(o: { id: string; reason: Reason }): {
    write(m: Manifest): Promise<string>;
    abort(): Promise<void>;
  } {
    const input = new PassThrough();
    // abort() may destroy it before backupStream listens (a cancellation right after opening).
    input.on('error', () => undefined);
    const tags = [...this.baseTags(o.id, 'manifest'), `reason=${o.reason}`];
    const saved = this.repo.backupStream(input, {
      filename: `${this.project}/doom-ops-manifest.json`,
      host: SNAPSHOT_HOST,
      tags,
      ...(this.signal ? { signal: this.signal } : {}),
      fullId: false,
    });
    // Until write() awaits it, a failure (or an abort) must not be an unhandled rejection.
    saved.catch(() => undefined);
    return {
      write: async (m) => {
        input.end(Buffer.from(`${JSON.stringify(m, null, 2)}\n`));
        const r = await saved;
        this.wrote(r.snapshotId, [`/${this.project}/doom-ops-manifest.json`], tags);
        await this.cacheManifest(r.snapshotId, m);
        return r.snapshotId;
      },
      abort: async () => {
        if (!input.writableEnded) input.destroy(new Error('the backup ended without a manifest'));
        await saved.then(
          () => undefined,
          () => undefined,
        );
      },
    };
  }

  /**
   * Every snapshot doom-ops wrote for this stack, oldest first. `cached`: see
   * ResticRepository.snapshots (a backup's listing; the local repository keeps a listing cache).
   */
  async stackSnapshots(opts: { cached?: boolean } = {}): Promise<ResticSnapshot[]> {
    return this.repo.snapshots({
      tags: ['doom-ops', `stack=${this.project}`],
      ...(this.signal ? { signal: this.signal } : {}),
      ...(opts.cached ? { cached: true } : {}),
    });
  }

  /**
   * The stack's backups in this repository, oldest first. A backup whose manifest snapshot is
   * missing (the process died before writing it) is `incomplete`. Entries whose data was pruned
   * are moved from the manifest to `pruned`. Errors: ToolErrors of restic.
   */
  async list(snapshots?: ResticSnapshot[]): Promise<StoredBackup[]> {
    const all = snapshots ?? (await this.stackSnapshots());
    const byId = new Map<string, ResticSnapshot[]>();
    for (const s of all) {
      const id = tagValue(s.tags, 'backup');
      if (!id) continue;
      byId.set(id, [...(byId.get(id) ?? []), s]);
    }
    const out: StoredBackup[] = [];
    for (const [id, snaps] of byId) {
      const m = snaps.find((s) => s.tags.includes('role=manifest'));
      if (!m) {
        out.push({ id, state: 'incomplete', manifest: null, snapshots: snaps, pruned: [] });
        continue;
      }
      const manifest = await this.manifestOf(m, id);
      if (!manifest) {
        // Its writer was killed after restic started: the manifest snapshot holds no whole manifest.
        out.push({ id, state: 'incomplete', manifest: null, snapshots: snaps, pruned: [] });
        continue;
      }
      // The manifest names the snapshots of the repository the backup was written to; in a
      // repository filled by `restic copy` each copy has its own id and names the first in `original`.
      // Manifests record restic's short ids (what a backup learns without listing): matched by
      // prefix among this backup's own snapshots, here or as the `original` of a copy.
      // Within this backup, a data entry is a role=data snapshot of its target, its checksum list a
      // role=sums one: a short id is never matched against a leftover of another role or target.
      const find = (ref: string, e?: ComponentEntry, role = 'data'): string | undefined =>
        snaps.find(
          (s) =>
            (s.id.startsWith(ref) || s.original?.startsWith(ref)) &&
            (!e || (s.tags.includes(`role=${role}`) && s.tags.includes(`target=${e.target}`))),
        )?.id;
      const local = (e: ComponentEntry): ComponentEntry => ({
        ...e,
        ...(e.snapshot ? { snapshot: find(e.snapshot, e)! } : {}),
        ...(e.sums && find(e.sums, e, 'sums') ? { sums: find(e.sums, e, 'sums')! } : {}),
      });
      const kept = manifest.components.filter((e) => !e.snapshot || find(e.snapshot, e)).map(local);
      const pruned = manifest.components.filter((e) => e.snapshot && !find(e.snapshot, e));
      out.push({
        id,
        state: 'complete',
        manifest: { ...manifest, components: kept },
        snapshots: snaps,
        pruned,
      });
    }
    return out.sort((a, b) => (a.manifest?.created ?? a.id).localeCompare(b.manifest?.created ?? b.id));
  }

  /**
   * One complete backup, or undefined. Snapshot files restic could not load do not hide a backup
   * whose own snapshots are readable; when it is not among the readable ones, the
   * DamagedSnapshotsError is thrown (its manifest may be what was lost). `cached`: the listing may
   * come from the local repository's listing cache (see ResticRepository.snapshots), for a caller
   * that reads the backup's data back through restic anyway (a restore verifies it first).
   */
  async get(id: string, opts: { cached?: boolean } = {}): Promise<StoredBackup | undefined> {
    let damaged: DamagedSnapshotsError | undefined;
    const snaps = await this.repo
      .snapshots({
        tags: ['doom-ops', `stack=${this.project}`, `backup=${id}`],
        ...(this.signal ? { signal: this.signal } : {}),
        ...(opts.cached ? { cached: true } : {}),
      })
      .catch((err: unknown) => {
        if (!(err instanceof DamagedSnapshotsError)) throw err;
        damaged = err;
        return err.readable;
      });
    const found = (await this.list(snaps)).find((b) => b.id === id && b.state === 'complete');
    if (!found && damaged) throw damaged;
    return found;
  }

  /**
   * The bytes of an entry (restic dump), as a stream that fails rather than ends early. A volume
   * backed up from its directory (`tree`) comes as a tar of the whole snapshot, entries relative to
   * the volume's directory (`_data/…`).
   */
  dump(entry: ComponentEntry): Readable {
    if (entry.snapshot && entry.tree) return this.repo.dumpTree(entry.snapshot, this.signal);
    if (!entry.snapshot || !entry.path)
      throw new ToolError('failed', `backup entry ${entry.component}:${entry.target} has no restic snapshot`);
    return this.repo.dump(entry.snapshot, entry.path, this.signal);
  }

  /** The volume's recorded `sha256  path` lines (drills), or undefined when the entry has none. */
  sums(entry: ComponentEntry): Readable | undefined {
    if (!entry.sums || !entry.path) return undefined;
    return this.repo.dump(entry.sums, `${entry.path}.sha256`, this.signal);
  }

  // ---- manifests (immutable, so cached by snapshot id under <stateDir>/restic/manifests) -------

  /** Keyed by the short id (what a backup learns without listing); a hit must name the same backup. */
  private cacheFile(snapshotId: string): string {
    return join(resolve(this.config.stateDir), 'restic', 'manifests', `${snapshotId.slice(0, 8)}.json`);
  }

  private async cacheManifest(snapshotId: string, m: Manifest): Promise<void> {
    const file = this.cacheFile(snapshotId);
    try {
      await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
      await writeFile(`${file}.tmp`, JSON.stringify(m));
      await rename(`${file}.tmp`, file);
    } catch {
      // A cache: reading the repository again is the fallback.
    }
  }

  /**
   * The manifest in snapshot `s` (from the cache when this host wrote or read it, by its id or, for
   * a `restic copy`, its original's), or null when the snapshot holds no whole manifest (empty or
   * cut JSON: its writer was killed). Errors: ToolError failed for JSON that is not a doom-ops
   * manifest; ToolErrors of restic (a damaged snapshot fails to read, it is never taken for a cut one).
   */
  private async manifestOf(s: ResticSnapshot, backupId: string): Promise<Manifest | null> {
    for (const ref of [s.id, s.original].filter((x): x is string => !!x)) {
      const cached = await readFile(this.cacheFile(ref), 'utf8').catch(() => null);
      if (!cached) continue;
      let json: unknown;
      try {
        json = JSON.parse(cached);
      } catch {
        json = null;
      }
      const parsed = manifestSchema.safeParse(json);
      if (parsed.success && parsed.data.id === backupId && parsed.data.stack === this.project)
        return parsed.data;
    }
    const chunks: Buffer[] = [];
    try {
      for await (const c of this.repo.dump(s.id, `${this.project}/doom-ops-manifest.json`, this.signal))
        chunks.push(c as Buffer);
    } catch (err) {
      // No manifest file in it: restic saves a snapshot of the stdin path's directories when its
      // input ends before any byte (the writer was killed while restic waited for the manifest).
      if (isToolError(err) && err.code === 'not_found') return null;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return null;
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success)
      throw new ToolError(
        'failed',
        `the manifest in snapshot ${s.id.slice(0, 8)} of ${this.label} is not a doom-ops manifest`,
      );
    await this.cacheManifest(s.id, parsed.data);
    return parsed.data;
  }
}
