import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isToolError, ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { legacyDuckdb } from './components/duckdb.js';
import { legacyFile } from './components/mongodb.js';
import { legacyTar } from './components/volumes.js';
import type { ComponentEntry, Manifest, Verification } from './manifest.js';
import { localRepository, type OpenRepository, offsiteRepositories, repositoryByName } from './repository.js';
import { catalogOf, loadVerification, saveVerification, storeOf } from './run-backup.js';
import type { BackupStore } from './store.js';
import type { EntrySource } from './verify.js';

/** A complete backup found for reading: its manifest, where it is, and its entries' bytes. */
export interface LocatedBackup {
  id: string;
  manifest: Manifest;
  /** "local repository /…", "offsite repository offsite-1 (sftp:…)", "legacy directory /…". */
  where: string;
  /** The repository's name (local, an offsite name) or "legacy". */
  repository: string;
  store?: BackupStore;
  /** For verification: the entry's stored bytes (legacy volume archives are gzipped). */
  source: EntrySource;
  /** For restore: the entry's content (a volume's plain tar, the mongodump archive, the play log). */
  open(e: ComponentEntry): Readable;
  verification(): Promise<Verification | null>;
  saveVerification(v: Verification): Promise<void>;
  /** Entries of the manifest whose data retention removed. */
  pruned: ComponentEntry[];
}

/**
 * The repositories to search, in order: the named one, or local then every offsite one. A local
 * repository without its generated key (nothing backed up here, a new host) is a miss, not an error:
 * the offsite ones are still searched.
 */
async function candidates(
  ctx: ToolContext,
  misses: string[],
  repository?: string,
): Promise<OpenRepository[]> {
  if (repository) return [await repositoryByName(ctx.config, repository)];
  const local = await localRepository(ctx.config).then(
    (r) => [r],
    (err: unknown) => {
      if (!(isToolError(err) && err.code === 'not_found')) throw err;
      misses.push(`local repository: ${err.message}`);
      return [];
    },
  );
  return [...local, ...(await offsiteRepositories(ctx.config).catch(() => []))];
}

/**
 * Finds complete backup `id` of the stack: a legacy (pre-restic) backup directory first, then the
 * local restic repository, then each offsite repository (so a restore works with the local one
 * gone), or only `repository` when given. `cached`: see BackupStore.get. Errors: ToolError
 * not_found saying where it looked and why each place failed; config_invalid for an unknown or
 * password-less repository.
 */
export async function locateBackup(
  ctx: ToolContext,
  id: string,
  repository?: string,
  opts: { cached?: boolean } = {},
): Promise<LocatedBackup> {
  if (!repository || repository === 'legacy') {
    const catalog = catalogOf(ctx);
    const manifest = await catalog.manifest(id).catch(() => null);
    if (manifest) {
      const dir = catalog.path(id);
      return {
        id,
        manifest,
        where: `legacy directory ${dir}`,
        repository: 'legacy',
        source: (e) => ({ stream: legacyFile(dir, e), gzip: e.component === 'volumes' }),
        open: (e) =>
          e.component === 'volumes'
            ? legacyTar(dir, e)
            : e.component === 'duckdb'
              ? legacyDuckdb(dir, e)
              : legacyFile(dir, e),
        verification: () => catalog.verification(id),
        saveVerification: (v) => catalog.saveVerification(id, v),
        pruned: [],
      };
    }
    if (repository === 'legacy')
      throw new ToolError('not_found', `no legacy backup "${id}" in ${join(catalog.dir)}`, {
        hint: 'list_backups shows every backup and where it is',
      });
  }
  const misses: string[] = [];
  let firstError: unknown;
  for (const open of await candidates(ctx, misses, repository)) {
    const store = storeOf(ctx, open);
    try {
      const found = await store.get(id, opts);
      if (!found?.manifest) {
        misses.push(`${store.label}: not there`);
        continue;
      }
      return {
        id,
        manifest: found.manifest,
        where: store.label,
        repository: open.name,
        store,
        source: (e) => ({ stream: store.dump(e), gzip: false }),
        open: (e) => store.dump(e),
        verification: () => loadVerification(ctx, store, id),
        saveVerification: (v) => saveVerification(ctx, store, id, v),
        pruned: found.pruned,
      };
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      // A repository that does not exist is a place the backup is not; any other failure
      // (unreachable, wrong password, restic missing) is kept with its own advice.
      if (!(isToolError(err) && err.code === 'not_found')) firstError ??= err;
      misses.push(`${store.label}: ${isToolError(err) ? err.message : (err as Error).message}`);
    }
  }
  if (firstError && isToolError(firstError))
    throw new ToolError(
      firstError.code,
      `cannot read backup "${id}" of ${ctx.project}: ${misses.join('; ')}`,
      {
        ...(firstError.hint ? { hint: firstError.hint } : {}),
        cause: firstError,
      },
    );
  throw new ToolError('not_found', `no complete backup "${id}" of ${ctx.project} (${misses.join('; ')})`, {
    hint: 'list_backups shows the complete ones (with repository: <offsite name> for an offsite repository)',
  });
}
