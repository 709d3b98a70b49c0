import { z } from 'zod';
import { locateBackup } from '../../backup/locate.js';
import { verifyEntries } from '../../backup/verify.js';
import { defineTool } from '../define-tool.js';
import { repositoryField } from './list-backups.js';

export const backupIdField = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a backup id (list_backups)')
  .describe('Backup id from list_backups');

export const verifyBackup = defineTool({
  name: 'verify_backup',
  title: 'Verify a backup',
  description:
    'Reads every part of a backup back (restic dump, or the files of a pre-restic backup) and checks it: size and ' +
    'sha256 against the manifest (a volume restic read as a directory: restic checks every chunk, and the file count ' +
    'and bytes must match), volume tars parse, the mongodump archive is intact, each DuckDB copy opens with the ' +
    'recorded row counts, the OpenSearch snapshot exists with its indices. Then `restic check` of the repository ' +
    '(structure; with readData, e.g. "10%" or "100%", that share of the data packs is read and verified too). The ' +
    'result is kept (list_backups shows it); restore refuses a backup that fails.',
  summary:
    'Use to check that a backup is intact before trusting it. Reads every part back, runs restic check and ' +
    'returns the results; restore refuses a backup that fails.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    id: backupIdField,
    repository: repositoryField.optional(),
    readData: z
      .string()
      .regex(/^(\d+\/\d+|\d+(\.\d+)?%|\d+[kKmMgGtT]?)$/)
      .optional()
      .describe(
        'Also read this share of all data packs back (restic check --read-data-subset): "10%", "1/5", "500M"',
      ),
  }),
  output: z.object({
    id: z.string(),
    where: z.string(),
    ok: z.boolean(),
    verifiedAt: z.string(),
    checks: z.array(
      z.object({ component: z.string(), target: z.string(), ok: z.boolean(), detail: z.string() }),
    ),
    repositoryCheck: z
      .object({ ok: z.boolean(), readData: z.string().nullable(), errors: z.array(z.string()) })
      .nullable()
      .describe('restic check of the whole repository; null for a pre-restic backup'),
  }),
  async run(ctx, input) {
    const b = await locateBackup(ctx, input.id, input.repository);
    ctx.progress({ progress: 0, message: `reading backup ${input.id} back from ${b.where}` });
    const v = await verifyEntries(ctx, b.manifest.components, b.source);
    let repositoryCheck = null;
    if (b.store) {
      ctx.progress({ progress: 1, message: `restic check of ${b.where}` });
      // Without restic's exclusive lock: a verify must never make a running backup fail.
      const c = await b.store.repo.check({
        noLock: true,
        ...(input.readData ? { readDataSubset: input.readData } : {}),
        signal: ctx.signal,
      });
      repositoryCheck = { ok: c.ok, readData: input.readData ?? null, errors: c.errors.slice(0, 20) };
      v.ok = v.ok && c.ok;
    }
    await b.saveVerification(v);
    return { id: input.id, where: b.where, ...v, repositoryCheck };
  },
});
