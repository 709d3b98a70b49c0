import { z } from 'zod';
import { catalogOf } from '../backup/run-backup.js';
import { verifyEntries } from '../backup/verify.js';
import { ToolError } from '../errors.js';
import { defineTool } from './define-tool.js';

export const backupIdField = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a backup id (list_backups)')
  .describe('Backup id from list_backups');

export async function loadBackup(ctx: Parameters<typeof catalogOf>[0], id: string) {
  const catalog = catalogOf(ctx);
  const manifest = await catalog.manifest(id).catch(() => null);
  if (!manifest)
    throw new ToolError('not_found', `no complete backup "${id}" in ${catalog.dir}`, {
      hint: 'list_backups shows the complete ones',
    });
  return { catalog, manifest, dir: catalog.path(id) };
}

export const verifyBackup = defineTool({
  name: 'verify_backup',
  title: 'Verify a backup',
  description:
    "Recomputes every file's sha256 and size against MANIFEST.json, checks gzip and tar integrity of volume archives, " +
    'the mongodump archive, that DuckDB copies open and have the recorded row counts, and that the OpenSearch snapshot ' +
    'exists with its indices. The result is stored with the backup (VERIFICATION.json); restore refuses a backup that fails.',
  risk: 'read',
  idempotent: true,
  input: z.object({ id: backupIdField }),
  output: z.object({
    id: z.string(),
    ok: z.boolean(),
    verifiedAt: z.string(),
    checks: z.array(
      z.object({ component: z.string(), target: z.string(), ok: z.boolean(), detail: z.string() }),
    ),
  }),
  async run(ctx, input) {
    const { catalog, manifest, dir } = await loadBackup(ctx, input.id);
    const v = await verifyEntries(ctx, dir, manifest.components);
    await catalog.saveVerification(input.id, v);
    return { id: input.id, ...v };
  },
});
