import { join } from 'node:path';
import { removeOrphanHelpers } from '../adapters/docker/helper.js';
import { ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { fileSystemError } from '../util/fs-errors.js';
import { VERSION } from '../version.js';
import { BackupCatalog } from './catalog.js';
import { backupDuckdb } from './components/duckdb.js';
import { backupMongo } from './components/mongodb.js';
import { backupOpenSearch } from './components/opensearch.js';
import { backupVolume } from './components/volumes.js';
import {
  COMPONENTS,
  type Component,
  type ComponentEntry,
  type Manifest,
  type Verification,
} from './manifest.js';
import { verifyEntries } from './verify.js';

/**
 * One catalog per stack, `<backupDir>/<project>/`: the stack lock is per project, so only a
 * per-project catalog lets a backup clear stale partials, and prune apply retention, without
 * touching another stack's backups that share the directory.
 */
export function catalogOf(ctx: ToolContext): BackupCatalog {
  return new BackupCatalog(join(ctx.config.backup.dir, ctx.project));
}

function newId(kind: string): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${kind}`;
}

/**
 * Writes the components into <id>.partial/, verifies every file, then commits (rename). Anything
 * that fails removes the partial directory; a process killed mid-way leaves it, and it is never
 * listed as complete (the next backup removes it). The caller holds the stack lock.
 */
export async function runBackup(
  ctx: ToolContext,
  kind: Component | 'full',
  reason: 'requested' | 'pre-restore',
): Promise<{ manifest: Manifest; verification: Verification; skipped: string[] }> {
  const catalog = catalogOf(ctx);
  await catalog.removeStalePartials();
  await removeOrphanHelpers(ctx.docker, ctx.signal);
  // Ids have one-second resolution; several backups within a second get -2, -3, … (the stack lock
  // makes this check-then-create safe within the stack's catalog).
  const taken = new Set((await catalog.list()).map((e) => e.id));
  const base = newId(kind);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  // A full disk, a quota or a read-only mount says which directory and how much room is left.
  const fsContext = {
    what: `write backup ${id}`,
    dir: catalog.dir,
    setting: 'backup.dir (DOOM_OPS_BACKUP_DIR)',
  };
  const dir = await catalog.begin(id).catch(async (err) => {
    throw await fileSystemError(err, fsContext);
  });
  const components: Component[] = kind === 'full' ? [...COMPONENTS] : [kind];
  const entries: ComponentEntry[] = [];
  const skipped: string[] = [];
  try {
    for (const c of components) {
      ctx.progress({ progress: entries.length, message: `backing up ${c}` });
      if (c === 'mongodb') entries.push(await backupMongo(ctx, dir));
      else if (c === 'opensearch') entries.push(await backupOpenSearch(ctx, id));
      else if (c === 'duckdb') {
        const agents = await backupDuckdb(ctx, dir);
        if (agents.length === 0)
          skipped.push(`duckdb: no running ${ctx.config.backup.duckdb.service} container`);
        entries.push(...agents);
      } else {
        if (ctx.config.backup.volumes.length === 0) skipped.push('volumes: backup.volumes is empty');
        for (const key of ctx.config.backup.volumes) entries.push(await backupVolume(ctx, dir, key));
      }
    }
    if (entries.length === 0)
      throw new ToolError('not_found', `nothing to back up for ${kind}: ${skipped.join('; ')}`);
    ctx.progress({ progress: entries.length, message: 'verifying' });
    const verification = await verifyEntries(ctx, dir, entries, true);
    if (!verification.ok)
      throw new ToolError(
        'failed',
        `backup ${id} failed verification: ${verification.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.target}: ${c.detail}`)
          .join('; ')}`,
      );
    const manifest: Manifest = {
      id,
      created: new Date().toISOString(),
      stack: ctx.project,
      tool: { name: 'doom-ops', version: VERSION },
      kind,
      reason,
      components: entries,
    };
    await catalog.commit(id, manifest, verification);
    return { manifest, verification, skipped };
  } catch (err) {
    await catalog.abandon(id);
    throw await fileSystemError(err, fsContext);
  }
}
