import { z } from 'zod';
import { restoreDuckdb } from '../backup/components/duckdb.js';
import { restoreMongo } from '../backup/components/mongodb.js';
import { restoreOpenSearch } from '../backup/components/opensearch.js';
import { restoreVolume } from '../backup/components/volumes.js';
import { COMPONENTS, type ComponentEntry, type Manifest } from '../backup/manifest.js';
import { runBackup } from '../backup/run-backup.js';
import { verifyEntries } from '../backup/verify.js';
import { ToolError } from '../errors.js';
import { canonical } from '../safety/approver.js';
import type { ToolContext } from './context.js';
import { defineTool } from './define-tool.js';
import { backupIdField, loadBackup } from './verify-backup.js';

const input = z.object({
  id: backupIdField,
  component: z.enum(COMPONENTS).describe('Which component of the backup to restore'),
  target: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)
    .optional()
    .describe('Only this volume key or agent container (default: every entry of the component)'),
});
type Input = z.output<typeof input>;

async function selected(
  ctx: ToolContext,
  i: Input,
): Promise<{ manifest: Manifest; dir: string; entries: ComponentEntry[] }> {
  const { manifest, dir } = await loadBackup(ctx, i.id);
  const entries = manifest.components.filter(
    (e) => e.component === i.component && (!i.target || e.target === i.target),
  );
  if (entries.length === 0)
    throw new ToolError(
      'not_found',
      `backup ${i.id} has no ${i.component}${i.target ? ` entry for ${i.target}` : ''}`,
      {
        hint: `it holds: ${manifest.components.map((e) => `${e.component}:${e.target}`).join(', ')}`,
      },
    );
  return { manifest, dir, entries };
}

function stepFor(e: ComponentEntry): string {
  switch (e.component) {
    case 'mongodb':
      return `mongorestore --archive --gzip --drop into ${e.target} (collections are dropped and replaced: ${Object.keys((e.details.collections as object) ?? {}).join(', ') || 'all in the archive'})`;
    case 'opensearch':
      return `close indices ${(e.details.indices as string[]).join(', ')} and restore them from snapshot ${String(e.details.snapshot)}`;
    case 'duckdb':
      return `stop ${e.target}, replace ${String(e.details.path)} with the backup copy, start it`;
    default:
      return `stop the containers using volume ${e.target}, empty it, extract the archive, start them again`;
  }
}

export const restoreTool = defineTool({
  name: 'restore',
  title: 'Restore from a backup',
  description:
    'Restores one component (mongodb, opensearch, duckdb, volumes; optionally one target) from a complete backup. ' +
    'Destructive: needs a human approval of the plan. Verifies the backup first and refuses, touching nothing, if it ' +
    'fails; then writes a safety backup of the current data; then restores (services using the data are stopped and ' +
    'started again). Reports what changed.',
  risk: 'destructive',
  idempotent: false,
  input,
  output: z.object({
    id: z.string(),
    component: z.string(),
    safetyBackup: z.string(),
    restored: z.array(z.object({ target: z.string(), result: z.record(z.string(), z.unknown()) })),
    durationMs: z.number(),
  }),
  async plan(ctx, i) {
    const rest = await selected(ctx, i);
    // A backup known to be bad is refused before anyone is asked to approve it.
    const stored = await loadBackup(ctx, i.id).then((b) => b.catalog.verification(i.id));
    if (stored && !stored.ok)
      throw new ToolError('failed', `backup ${i.id} failed its last verification; it will not be restored`, {
        hint: 'verify_backup shows what is wrong; pick another backup (list_backups)',
      });
    return {
      summary: `restore ${i.component}${i.target ? ` (${i.target})` : ''} of ${ctx.project} from backup ${i.id} (${rest.manifest.created})`,
      steps: [
        `verify backup ${i.id} (checksums, archive integrity); stop here if it fails`,
        `write a safety backup of the current ${i.component} data`,
        ...rest.entries.map(stepFor),
      ],
      dataAtRisk: [
        `current ${i.component} data changed since ${rest.manifest.created} is replaced (the safety backup keeps it)`,
      ],
      fingerprint: canonical([
        i.id,
        i.component,
        i.target ?? null,
        rest.entries.map((e) => [e.target, e.sha256]),
      ]),
    };
  },
  async run(ctx, i) {
    const started = Date.now();
    const { dir, entries } = await selected(ctx, i);
    ctx.progress({ progress: 0, message: `verifying backup ${i.id}` });
    const v = await verifyEntries(ctx, dir, entries);
    if (!v.ok)
      throw new ToolError(
        'failed',
        `backup ${i.id} failed verification, nothing was changed: ${v.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.target}: ${c.detail}`)
          .join('; ')}`,
        { hint: 'pick another backup (list_backups) or investigate with verify_backup' },
      );
    ctx.progress({ progress: 1, message: `safety backup of ${i.component}` });
    const safety = await runBackup(ctx, i.component, 'pre-restore');
    const restored = [];
    for (const e of entries) {
      ctx.progress({ progress: 2 + restored.length, message: `restoring ${e.component} ${e.target}` });
      const result =
        e.component === 'mongodb'
          ? await restoreMongo(ctx, dir, e)
          : e.component === 'opensearch'
            ? await restoreOpenSearch(ctx, e)
            : e.component === 'duckdb'
              ? await restoreDuckdb(ctx, dir, e)
              : await restoreVolume(ctx, dir, e);
      restored.push({ target: e.target, result: result as Record<string, unknown> });
    }
    return {
      id: i.id,
      component: i.component,
      safetyBackup: safety.manifest.id,
      restored,
      durationMs: Date.now() - started,
    };
  },
});
