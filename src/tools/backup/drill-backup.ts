import { z } from 'zod';
import { runDrill } from '../../backup/drill.js';
import { type LocatedBackup, locateBackup } from '../../backup/locate.js';
import { repositoryByName } from '../../backup/repository.js';
import { storeOf } from '../../backup/run-backup.js';
import { isToolError, ToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { repositoryField } from './list-backups.js';
import { backupIdField } from './verify-backup.js';

/** The newest complete backup with something restorable in it (a safety backup only if nothing else). */
async function newest(ctx: ToolContext, repository: string): Promise<LocatedBackup> {
  const store = storeOf(ctx, await repositoryByName(ctx.config, repository));
  const all = await store.list().catch((err) => {
    if (isToolError(err) && err.code === 'not_found') return [];
    throw err;
  });
  const list = all
    .filter((b) => b.state === 'complete' && b.manifest && b.manifest.components.length > 0)
    .sort((a, b) => b.manifest!.created.localeCompare(a.manifest!.created));
  const pick = list.find((b) => b.manifest!.reason === 'requested') ?? list[0];
  if (!pick)
    throw new ToolError(
      'not_found',
      `there is no complete backup of ${ctx.project} in ${store.label} to drill`,
      {
        hint: 'run doom-ops backup full first',
      },
    );
  return locateBackup(ctx, pick.id, repository);
}

export const drillBackup = defineTool({
  name: 'drill_backup',
  title: 'Restore drill',
  description:
    'Proves a backup can be restored, without touching the live stack: restores it (default: the newest complete ' +
    'backup) into throwaway volumes and containers of a scratch project, checks every file against the sha256 ' +
    "recorded at backup time (or, for a volume restic read as a directory, against restic's own checked copy), " +
    'opens each DuckDB copy and compares its row counts, restores the mongodump archive into ' +
    'a scratch mongodb container when the image has mongorestore, checks the OpenSearch snapshot, then removes the ' +
    'scratch project. Records "restorable as of <backup time>"; stack_health warns when no good drill happened within ' +
    'backup.drillMaxAge. A damaged repository makes it fail, naming the backup and the part.',
  summary:
    'Use to prove a backup can be restored, without touching the live stack. Restores it into a throwaway ' +
    'project, checks every part and reports restorable or what is damaged.',
  risk: 'write',
  idempotent: true,
  // Runs beside backups (it reads the repository), but not during a restore of the same stack.
  lockWaitMs: 15 * 60_000,
  input: z.object({
    id: backupIdField.optional().describe('Backup id (default: the newest complete backup)'),
    repository: repositoryField.optional().describe('Drill a backup of this repository (default local)'),
  }),
  output: z.object({
    backup: z.string(),
    backupCreated: z.string(),
    where: z.string(),
    scratchProject: z.string().describe('The throwaway project used (already removed)'),
    restorable: z.boolean(),
    restorableAsOf: z.string().nullable(),
    summary: z.string(),
    checks: z.array(
      z.object({
        component: z.string(),
        target: z.string(),
        status: z.enum(['ok', 'failed', 'skipped']),
        detail: z.string(),
      }),
    ),
    durationMs: z.number(),
  }),
  async run(ctx, input) {
    const b = input.id
      ? await locateBackup(ctx, input.id, input.repository)
      : await newest(ctx, input.repository ?? 'local');
    return runDrill(ctx, b);
  },
});
