import { z } from 'zod';

export const COMPONENTS = ['mongodb', 'opensearch', 'duckdb', 'volumes'] as const;
export type Component = (typeof COMPONENTS)[number];

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
