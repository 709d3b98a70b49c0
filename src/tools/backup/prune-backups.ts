import { z } from 'zod';
import { applyPrune, decidePrune, type PruneDecision } from '../../backup/prune.js';
import { localRepository, offsiteRepositories } from '../../backup/repository.js';
import { storeOf } from '../../backup/run-backup.js';
import type { BackupStore } from '../../backup/store.js';
import { isToolError } from '../../errors.js';
import { canonical } from '../../safety/approver.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';

/** The local repository (unless it has no key yet: nothing to prune there) and every offsite one. */
async function stores(ctx: ToolContext): Promise<BackupStore[]> {
  const local = await localRepository(ctx.config).then(
    (r) => [r],
    (err: unknown) => {
      if (isToolError(err) && err.code === 'not_found') return [];
      throw err;
    },
  );
  return [...local, ...(await offsiteRepositories(ctx.config))].map((o) => storeOf(ctx, o));
}

async function decideAll(ctx: ToolContext) {
  const out: Array<{ store: BackupStore; decision: PruneDecision | null; error: string | null }> = [];
  for (const store of await stores(ctx)) {
    try {
      out.push({ store, decision: await decidePrune(ctx, store), error: null });
    } catch (err) {
      // No repository yet: nothing to prune there. An offsite one that does not answer is reported.
      if (isToolError(err) && err.code === 'not_found') out.push({ store, decision: null, error: null });
      else if (store.open.offsite) out.push({ store, decision: null, error: (err as Error).message });
      else throw err;
    }
  }
  return out;
}

const group = z.object({
  component: z.string(),
  target: z.string(),
  kind: z.enum(['requested', 'pre-restore']),
  keep: z.array(z.string()).describe('Backup ids kept in this group, newest first'),
  remove: z.array(z.string()).describe('Backup ids whose data of this group is removed'),
});

export const pruneBackups = defineTool({
  name: 'prune_backups',
  title: 'Prune old backups',
  description:
    "Applies retention per stack, component and target (restic's keep-daily/keep-weekly rules per group, then restic forget): backup.retention.daily " +
    "and .weekly (the handbook's 7 and 4: the newest backup of each of the last 7 days and 4 ISO weeks that have one), " +
    'so the newest backup of every component always stays; safety backups taken before a restore are kept apart (the ' +
    'newest backup.retention.safety per target) and never push out the backup restored from; a backup an interrupted ' +
    'restore still reads, and its safety backup, are kept until it completes. Then restic prune, in ' +
    'the local and every offsite repository, and the OpenSearch snapshots of removed records are deleted. dryRun lists, ' +
    'per component, what stays and what goes and is read-only; deleting is destructive and needs a human approval.',
  summary:
    'Use to delete old backups by the retention rules. Destructive: deleting waits for a human approval; ' +
    'dryRun only lists, per component, what stays and what goes.',
  risk: 'destructive',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  effectiveRisk: (i) => (i.dryRun ? 'read' : 'destructive'),
  input: z.object({
    dryRun: z.boolean().default(false).describe('Only show what would be kept and deleted'),
  }),
  output: z.object({
    policy: z.object({ daily: z.number(), weekly: z.number(), safety: z.number() }),
    repositories: z.array(
      z.object({
        name: z.string(),
        url: z.string(),
        groups: z.array(group),
        removedBackups: z.array(z.string()).describe('Backups of which nothing is left'),
        held: z
          .array(z.object({ backup: z.string(), why: z.string() }))
          .describe(
            'Backups retention would remove that an interrupted or running restore still needs: kept',
          ),
        snapshotsRemoved: z.number(),
        report: z.string().describe('restic prune summary, or why this repository was not pruned'),
        error: z.string().nullable(),
      }),
    ),
    deleted: z.boolean(),
  }),
  async plan(ctx) {
    const all = await decideAll(ctx);
    const steps: string[] = [];
    for (const { store, decision } of all)
      for (const g of decision?.groups ?? [])
        if (g.remove.length)
          steps.push(
            `${store.open.name}: ${g.component}:${g.target}${g.kind === 'pre-restore' ? ' (safety)' : ''} remove ${g.remove.join(', ')}; keep ${g.keep.join(', ')}`,
          );
    for (const { store, decision } of all)
      for (const h of decision?.held ?? []) steps.push(`${store.open.name}: keep ${h.backup}: ${h.why}`);
    const forget = all.flatMap((a) => a.decision?.forget ?? []);
    return {
      summary: `remove ${forget.length} snapshot(s) (${new Set(all.flatMap((a) => a.decision?.removedBackups ?? [])).size} whole backup(s)) by retention, then restic prune`,
      steps: steps.length ? steps : ['nothing to remove'],
      dataAtRisk: all.flatMap((a) =>
        (a.decision?.removedBackups ?? []).map((b) => `backup ${b} (${a.store.open.name})`),
      ),
      fingerprint: canonical(all.map((a) => [a.store.open.name, a.decision?.forget ?? []])),
    };
  },
  async run(ctx, input) {
    const all = await decideAll(ctx);
    const repositories = [];
    for (const { store, decision, error } of all) {
      let report = error ? `not pruned: ${error}` : decision ? '' : 'no repository yet';
      let err = error;
      if (decision && !input.dryRun) {
        try {
          const r = await applyPrune(ctx, store, decision);
          report = r.report;
          if (r.openSearchNotDeleted.length)
            report += `\nOpenSearch did not answer; delete these snapshots later: ${r.openSearchNotDeleted.join(', ')}`;
        } catch (e) {
          if (!store.open.offsite) throw e;
          err = (e as Error).message;
          report = `not pruned: ${err}`;
        }
      }
      repositories.push({
        name: store.open.name,
        url: store.repo.displayUrl,
        groups: decision?.groups ?? [],
        removedBackups: decision?.removedBackups ?? [],
        held: decision?.held ?? [],
        snapshotsRemoved: input.dryRun ? 0 : (decision?.forget.length ?? 0),
        report,
        error: err,
      });
    }
    return { policy: ctx.config.backup.retention, repositories, deleted: !input.dryRun };
  },
});
