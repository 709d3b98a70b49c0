import { z } from 'zod';

export const COMPONENTS = ['mongodb', 'opensearch', 'duckdb', 'volumes'] as const;
export type Component = (typeof COMPONENTS)[number];
export const PHASES = ['Completed', 'PartiallyFailed', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

export const componentEntry = z.object({
  component: z.enum(COMPONENTS),
  /** What this entry holds: the volume key, the agent container, the database, the snapshot. */
  target: z.string(),
  /** Relative to the backup directory; null for the OpenSearch snapshot (it lives in the repository). */
  file: z.string().nullable(),
  bytes: z.number(),
  sha256: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  /** What the writer proved about the content as it streamed (the backup's own verification then only re-hashes the file). */
  checkedWhileWriting: z.string().optional(),
  /** restic backups: the snapshot holding the data, and the file's path in it. */
  snapshot: z.string().optional(),
  path: z.string().optional(),
  /** restic backups of volumes: the snapshot holding `sha256  path` of every regular file (the drill checks them). */
  sums: z.string().optional(),
  /**
   * restic backups of volumes read from their directory (backup.volumeAccess auto): the name of
   * that directory (`_data`), which the snapshot holds at its root with the volume's files below it
   * (restic's own content hashes; no `sums`); read back with `restic dump <snapshot> /` as a tar
   * whose entries sit under `_data/`. Absent: the snapshot holds the Engine API's tar of the volume
   * at `path` (entries under `volume/`).
   */
  tree: z.string().optional(),
});
export type ComponentEntry = z.output<typeof componentEntry>;

export const manifestSchema = z.object({
  id: z.string(),
  created: z.string(),
  stack: z.string(),
  tool: z.object({ name: z.string(), version: z.string() }),
  kind: z.string().describe('full, or the one component backed up'),
  reason: z.string().describe('requested, or pre-restore (a safety backup)'),
  components: z.array(componentEntry),
  /** Absent: a backup of doom-ops before restic (files under backup.dir). */
  format: z.literal('restic').optional(),
  /** Velero's phases: every component saved, some failed (each in failures), or none saved. */
  phase: z.enum(PHASES).optional(),
  failures: z
    .array(z.object({ component: z.string(), target: z.string().optional(), reason: z.string() }))
    .optional(),
  /** Components with nothing to back up (no running agent, …), with why. */
  skipped: z.array(z.string()).optional(),
  /** For a safety backup: the backup whose restore it was taken before. */
  protects: z.string().optional(),
});
export type Manifest = z.output<typeof manifestSchema>;

export const verificationSchema = z.object({
  verifiedAt: z.string(),
  ok: z.boolean(),
  checks: z.array(
    z.object({ target: z.string(), component: z.enum(COMPONENTS), ok: z.boolean(), detail: z.string() }),
  ),
});
export type Verification = z.output<typeof verificationSchema>;
