import { z } from 'zod';
import { COMPONENTS } from '../backup/manifest.js';
import { catalogOf, runBackup } from '../backup/run-backup.js';
import { defineTool } from './define-tool.js';

export const backupTool = defineTool({
  name: 'backup',
  title: 'Back up the stack',
  description:
    'Writes a verified, checksummed backup: mongodb (mongodump --archive --gzip by exec), opensearch (snapshot API), ' +
    "duckdb (each agent's play log after CHECKPOINT, checked by opening it with DuckDB), volumes (tar.gz of each volume " +
    'in backup.volumes through the Engine archive API), or full (all of them). Written to <id>.partial/ and renamed only ' +
    'once every file is verified; MANIFEST.json lists files, sizes and sha256. Serialized with other changes by the stack lock: waits up to 15 minutes for one in progress.',
  risk: 'write',
  idempotent: false,
  // A second backup (or any change) in progress: queue behind it rather than fail.
  lockWaitMs: 15 * 60_000,
  input: z.object({
    component: z
      .enum(['full', ...COMPONENTS])
      .default('full')
      .describe('What to back up (default full)'),
  }),
  output: z.object({
    id: z.string(),
    dir: z.string(),
    kind: z.string(),
    components: z.array(
      z.object({
        component: z.string(),
        target: z.string(),
        file: z.string().nullable(),
        bytes: z.number(),
        sha256: z.string().nullable(),
      }),
    ),
    verified: z.boolean(),
    skipped: z.array(z.string()),
    durationMs: z.number(),
  }),
  async run(ctx, input) {
    const started = Date.now();
    const { manifest, verification, skipped } = await runBackup(ctx, input.component, 'requested');
    return {
      id: manifest.id,
      dir: catalogOf(ctx).path(manifest.id),
      kind: manifest.kind,
      components: manifest.components.map(({ component, target, file, bytes, sha256 }) => ({
        component,
        target,
        file,
        bytes,
        sha256,
      })),
      verified: verification.ok,
      skipped,
      durationMs: Date.now() - started,
    };
  },
});
