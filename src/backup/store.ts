import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { DamagedSnapshotsError, type ResticSnapshot } from '../adapters/restic/repository.js';
import type { Config } from '../config/schema.js';
import { ToolError } from '../errors.js';
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
    const r = await this.repo.backupStream(input, {
      filename: path,
      host: SNAPSHOT_HOST,
      tags: [
        ...this.baseTags(o.id, 'data'),
        `component=${o.component}`,
        `target=${o.target}`,
        `reason=${o.reason}`,
      ],
      ...(this.signal ? { signal: this.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      fullId: false,
    });
    return { ...r, path };
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
    return this.repo.backupDirectory(dir, {
      host: SNAPSHOT_HOST,
      tags: [...this.baseTags(o.id, 'data'), 'component=volumes', `target=${o.target}`, `reason=${o.reason}`],
      ...(signal ? { signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      fullId: false,
    });
  }

  /** Streams the `sha256  path` list of a volume's files into its own snapshot. */
  async writeSums(input: Readable, o: { id: string; target: string; reason: Reason }) {
    const path = `${this.dataPath('volumes', o.target, o.reason)}.sha256`;
    const r = await this.repo.backupStream(input, {
      filename: path,
      host: SNAPSHOT_HOST,
      tags: [...this.baseTags(o.id, 'sums'), 'component=volumes', `target=${o.target}`],
      ...(this.signal ? { signal: this.signal } : {}),
      fullId: false,
    });
    return { ...r, path };
  }

  /** Writes the manifest (the backup's commit point). Returns the manifest snapshot id. */
  async writeManifest(m: Manifest): Promise<string> {
    const r = await this.repo.backupStream(Readable.from([Buffer.from(`${JSON.stringify(m, null, 2)}\n`)]), {
      filename: `${this.project}/doom-ops-manifest.json`,
      host: SNAPSHOT_HOST,
      tags: [...this.baseTags(m.id, 'manifest'), `reason=${m.reason}`, `phase=${m.phase ?? 'Completed'}`],
      ...(this.signal ? { signal: this.signal } : {}),
      fullId: false,
    });
    await this.cacheManifest(r.snapshotId, m);
    return r.snapshotId;
  }

  /** Every snapshot doom-ops wrote for this stack, oldest first. */
  async stackSnapshots(): Promise<ResticSnapshot[]> {
    return this.repo.snapshots({
      tags: ['doom-ops', `stack=${this.project}`],
      ...(this.signal ? { signal: this.signal } : {}),
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
      const manifest = await this.manifestOf(m.id, id);
      // The manifest names the snapshots of the repository the backup was written to; in a
      // repository filled by `restic copy` each copy has its own id and names the first in `original`.
      // Manifests record restic's short ids (what a backup learns without listing): matched by
      // prefix among this backup's own snapshots, here or as the `original` of a copy.
      const find = (ref: string): string | undefined =>
        snaps.find((s) => s.id.startsWith(ref) || s.original?.startsWith(ref))?.id;
      const local = (e: ComponentEntry): ComponentEntry => ({
        ...e,
        ...(e.snapshot ? { snapshot: find(e.snapshot)! } : {}),
        ...(e.sums && find(e.sums) ? { sums: find(e.sums)! } : {}),
      });
      const kept = manifest.components.filter((e) => !e.snapshot || find(e.snapshot)).map(local);
      const pruned = manifest.components.filter((e) => e.snapshot && !find(e.snapshot));
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
   * DamagedSnapshotsError is thrown (its manifest may be what was lost).
   */
  async get(id: string): Promise<StoredBackup | undefined> {
    let damaged: DamagedSnapshotsError | undefined;
    const snaps = await this.repo
      .snapshots({
        tags: ['doom-ops', `stack=${this.project}`, `backup=${id}`],
        ...(this.signal ? { signal: this.signal } : {}),
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

  private async manifestOf(snapshotId: string, backupId: string): Promise<Manifest> {
    const cached = await readFile(this.cacheFile(snapshotId), 'utf8').catch(() => null);
    if (cached) {
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
    for await (const c of this.repo.dump(snapshotId, `${this.project}/doom-ops-manifest.json`, this.signal))
      chunks.push(c as Buffer);
    const parsed = manifestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.success)
      throw new ToolError(
        'failed',
        `the manifest in snapshot ${snapshotId.slice(0, 8)} of ${this.label} is not a doom-ops manifest`,
      );
    await this.cacheManifest(snapshotId, parsed.data);
    return parsed.data;
  }
}
