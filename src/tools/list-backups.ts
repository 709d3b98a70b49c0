import { z } from 'zod';
import { catalogOf } from '../backup/run-backup.js';
import { defineTool } from './define-tool.js';

export const listBackups = defineTool({
  name: 'list_backups',
  title: 'List backups',
  description:
    'Backups in the backup directory, newest first: id, when, what, size, whether the last verification passed. ' +
    'Incomplete ones (a backup that died mid-way) are listed as such and are never used for a restore.',
  risk: 'read',
  idempotent: true,
  input: z.object({}),
  output: z.object({
    dir: z.string(),
    backups: z.array(
      z.object({
        id: z.string(),
        state: z.enum(['complete', 'incomplete']),
        created: z.string().nullable(),
        kind: z.string().nullable(),
        reason: z.string().nullable(),
        bytes: z.number(),
        components: z.array(z.string()),
        verified: z.boolean().nullable(),
        verifiedAt: z.string().nullable(),
      }),
    ),
  }),
  async run(ctx) {
    const catalog = catalogOf(ctx);
    const list = await catalog.list();
    return {
      dir: catalog.dir,
      backups: list
        .map((e) => ({
          id: e.id,
          state: e.state,
          created: e.manifest?.created ?? null,
          kind: e.manifest?.kind ?? null,
          reason: e.manifest?.reason ?? null,
          bytes: e.manifest?.components.reduce((n, c) => n + c.bytes, 0) ?? 0,
          components: e.manifest?.components.map((c) => `${c.component}:${c.target}`) ?? [],
          verified: e.verification?.ok ?? null,
          verifiedAt: e.verification?.verifiedAt ?? null,
        }))
        .sort((a, b) => (b.created ?? b.id).localeCompare(a.created ?? a.id)),
    };
  },
});
