import { z } from 'zod';
import { DamagedSnapshotsError } from '../../adapters/restic/repository.js';
import { PHASES } from '../../backup/manifest.js';
import { localRepository, localRepositoryUrl, repositoryByName } from '../../backup/repository.js';
import { catalogOf, loadVerification, storeOf } from '../../backup/run-backup.js';
import { isToolError } from '../../errors.js';
import { defineTool } from '../define-tool.js';

export const repositoryField = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,40}$/)
  .describe(
    'Which repository: local (default), the name of a backup.offsite repository, or legacy (pre-restic backups)',
  );

export const listBackups = defineTool({
  name: 'list_backups',
  title: 'List backups',
  description:
    "The stack's backups, newest first, from the local restic repository plus backups written before restic " +
    '(backup.dir), or from one offsite repository (repository: <name>): id, when, phase (Completed, PartiallyFailed, ' +
    'Failed), what it holds, what failed and why, size, whether the last verification passed. Incomplete ones (a ' +
    'backup that died mid-way) are listed as such and never used for a restore; components removed by retention are ' +
    'listed as pruned.',
  summary:
    "Use to find a backup to restore, verify or drill. Returns the stack's backups newest first, with id, " +
    'time, phase, contents, failures, size and last verification.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({ repository: repositoryField.optional() }),
  output: z.object({
    repository: z.string().describe('Where the list comes from'),
    dir: z.string().describe('The directory of legacy (pre-restic) backups'),
    backups: z.array(
      z.object({
        id: z.string(),
        state: z.enum(['complete', 'incomplete']),
        phase: z.enum(PHASES).nullable(),
        format: z.enum(['restic', 'legacy']),
        created: z.string().nullable(),
        kind: z.string().nullable(),
        reason: z.string().nullable(),
        bytes: z.number(),
        components: z.array(z.string()).describe('component:target entries that can be restored'),
        failed: z.array(z.string()).describe('component[:target]: reason'),
        pruned: z.array(z.string()),
        verified: z.boolean().nullable(),
        verifiedAt: z.string().nullable(),
      }),
    ),
    damage: z
      .array(z.string())
      .describe(
        'Snapshot files restic could not load (a damaged repository): what they may hide, and what to do. Empty when sound',
      ),
  }),
  async run(ctx, input) {
    const legacy = catalogOf(ctx);
    const rows = [];
    const damage: string[] = [];
    const name = input.repository ?? 'local';
    let where = `legacy directory ${legacy.dir}`;
    const open =
      name === 'legacy'
        ? undefined
        : await (name === 'local' ? localRepository(ctx.config) : repositoryByName(ctx.config, name)).catch(
            (err: unknown) => {
              // The local repository without its generated key: nothing was backed up here yet.
              if (name !== 'local' || !(isToolError(err) && err.code === 'not_found')) throw err;
              where = `local repository ${localRepositoryUrl(ctx.config)}: ${err.message}`;
              return undefined;
            },
          );
    if (open) {
      const store = storeOf(ctx, open);
      where = store.label;
      const list = await store.list().catch((err) => {
        // No repository yet (nothing backed up, or it was lost): an empty list that says so.
        if (isToolError(err) && err.code === 'not_found' && !open.offsite) {
          const others = ctx.config.backup.offsite.map((o) => o.name);
          where = `${store.label}, which does not exist (yet)${others.length ? `; offsite: ${others.join(', ')} (list one with repository: <name>)` : ''}`;
          return [];
        }
        // Snapshot files restic could not load: list what it could, and say what that list may lack.
        if (err instanceof DamagedSnapshotsError) {
          damage.push(
            `${err.message}. Backups listed as incomplete may be complete ones whose manifest is in those files, and backups may be missing. ${err.hint ?? ''}`.trim(),
          );
          return store.list(err.readable);
        }
        throw err;
      });
      for (const b of list) {
        const m = b.manifest;
        const v = m ? await loadVerification(ctx, store, b.id) : null;
        rows.push({
          id: b.id,
          state: b.state,
          phase: m?.phase ?? null,
          format: 'restic' as const,
          created: m?.created ?? b.snapshots[0]?.time ?? null,
          kind: m?.kind ?? null,
          reason: m?.reason ?? null,
          bytes: m?.components.reduce((n, c) => n + c.bytes, 0) ?? 0,
          components: m?.components.map((c) => `${c.component}:${c.target}`) ?? [],
          failed: (m?.failures ?? []).map(
            (f) => `${f.component}${f.target ? `:${f.target}` : ''}: ${f.reason}`,
          ),
          pruned: b.pruned.map((c) => `${c.component}:${c.target}`),
          verified: v?.ok ?? null,
          verifiedAt: v?.verifiedAt ?? null,
        });
      }
    }
    if (name === 'local' || name === 'legacy')
      for (const e of await legacy.list())
        rows.push({
          id: e.id,
          state: e.state,
          phase: e.manifest ? ('Completed' as const) : null,
          format: 'legacy' as const,
          created: e.manifest?.created ?? null,
          kind: e.manifest?.kind ?? null,
          reason: e.manifest?.reason ?? null,
          bytes: e.manifest?.components.reduce((n, c) => n + c.bytes, 0) ?? 0,
          components: e.manifest?.components.map((c) => `${c.component}:${c.target}`) ?? [],
          failed: [],
          pruned: [],
          verified: e.verification?.ok ?? null,
          verifiedAt: e.verification?.verifiedAt ?? null,
        });
    return {
      repository: name === 'local' ? `${where} and legacy directory ${legacy.dir}` : where,
      dir: legacy.dir,
      backups: rows.sort((a, b) => (b.created ?? b.id).localeCompare(a.created ?? a.id)),
      damage,
    };
  },
});
