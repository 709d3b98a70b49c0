import { z } from 'zod';
import { retain } from '../backup/retention.js';
import { catalogOf } from '../backup/run-backup.js';
import { canonical } from '../safety/approver.js';
import type { ToolContext } from './context.js';
import { defineTool } from './define-tool.js';

async function decide(ctx: ToolContext) {
  const complete = (await catalogOf(ctx).list()).filter((e) => e.state === 'complete' && e.manifest);
  const policy = ctx.config.backup.retention;
  const keep = retain(
    complete.map((e) => ({ id: e.id, created: e.manifest!.created })),
    policy,
  );
  const row = (e: (typeof complete)[number]) => ({
    id: e.id,
    created: e.manifest!.created,
    bytes: e.manifest!.components.reduce((n, c) => n + c.bytes, 0),
    keptBy: keep.get(e.id) ?? [],
  });
  return {
    policy,
    keep: complete.filter((e) => keep.has(e.id)).map(row),
    remove: complete.filter((e) => !keep.has(e.id)).map(row),
  };
}

const row = z.object({ id: z.string(), created: z.string(), bytes: z.number(), keptBy: z.array(z.string()) });

export const pruneBackups = defineTool({
  name: 'prune_backups',
  title: 'Prune old backups',
  description:
    "Applies the retention policy (backup.retention; the handbook's 7 daily and 4 weekly: the newest backup of each of " +
    'the last 7 days and of the last 4 ISO weeks that have one) and deletes the rest. dryRun shows exactly what would ' +
    'be deleted and is read-only; deleting is destructive and needs a human approval of that list. Incomplete backups ' +
    'are left to the next backup, which removes them.',
  risk: 'destructive',
  idempotent: true,
  effectiveRisk: (i) => (i.dryRun ? 'read' : 'destructive'),
  input: z.object({
    dryRun: z.boolean().default(false).describe('Only show what would be kept and deleted'),
  }),
  output: z.object({
    policy: z.object({ daily: z.number(), weekly: z.number() }),
    keep: z.array(row),
    remove: z.array(row),
    deleted: z.boolean(),
  }),
  async plan(ctx) {
    const d = await decide(ctx);
    return {
      summary: `delete ${d.remove.length} backup(s), keep ${d.keep.length} (${d.policy.daily} daily, ${d.policy.weekly} weekly)`,
      steps: d.remove.map((r) => `delete ${r.id} (${r.created})`),
      dataAtRisk: d.remove.map((r) => `backup ${r.id}`),
      fingerprint: canonical(d.remove.map((r) => r.id)),
    };
  },
  async run(ctx, input) {
    const d = await decide(ctx);
    if (!input.dryRun) for (const r of d.remove) await catalogOf(ctx).remove(r.id);
    return { ...d, deleted: !input.dryRun };
  },
});
