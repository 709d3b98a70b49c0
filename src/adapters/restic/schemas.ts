import { z } from 'zod';

/**
 * restic 0.14's `--json` output, as far as doom-ops reads it (unknown fields are ignored, so newer
 * restic versions that add fields still parse). Shapes seen by running 0.14.0:
 *  - `snapshots --json`: an array; `tags` is absent when a snapshot has none; `original` only on
 *    snapshots made by `copy` (the id of the snapshot it was copied from).
 *  - `backup --json`: one JSON object per line: `status` lines while it runs, one `summary` at the
 *    end whose `snapshot_id` is the 8-hex short id (0.14; later versions print the full id).
 *  - `forget --json`: one array of groups; `tags`/`paths`/`keep`/`remove` are null when empty;
 *    nothing at all (not `[]`) when no snapshot matched. `--prune` appends prune's plain-text report
 *    to the same stdout, which is why doom-ops runs prune as its own command.
 *  - `cat config --json`: { version, id, chunker_polynomial }.
 *  - `init`, `check`, `copy` and `prune` print plain text even with `--json`.
 */
export const snapshotSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  short_id: z.string().optional(),
  time: z.string(),
  tree: z.string().optional(),
  paths: z.array(z.string()).nullish(),
  hostname: z.string(),
  username: z.string().optional(),
  tags: z.array(z.string()).nullish(),
  original: z.string().optional(),
});
export type ResticSnapshotJson = z.infer<typeof snapshotSchema>;

export const snapshotListSchema = z.array(snapshotSchema);

export const backupStatusSchema = z.object({
  message_type: z.literal('status'),
  percent_done: z.number().optional(),
  total_files: z.number().optional(),
  files_done: z.number().optional(),
  bytes_done: z.number().optional(),
});

export const backupSummarySchema = z.object({
  message_type: z.literal('summary'),
  files_new: z.number(),
  files_changed: z.number().optional(),
  files_unmodified: z.number().optional(),
  data_blobs: z.number(),
  tree_blobs: z.number(),
  data_added: z.number(),
  total_files_processed: z.number(),
  total_bytes_processed: z.number(),
  total_duration: z.number(),
  snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/),
});
export type BackupSummaryJson = z.infer<typeof backupSummarySchema>;

/** A per-item error line of `backup --json` (`{"message_type":"error","error":…,"during":…,"item":…}`). */
export const backupErrorSchema = z.object({
  message_type: z.literal('error'),
  error: z.unknown().optional(),
  during: z.string().optional(),
  item: z.string().optional(),
});

export const backupLineSchema = z.discriminatedUnion('message_type', [
  backupStatusSchema,
  backupSummarySchema,
  backupErrorSchema,
  z.object({ message_type: z.literal('verbose_status') }),
]);

const groupSnapshotSchema = snapshotSchema.pick({
  id: true,
  time: true,
  tags: true,
  paths: true,
  hostname: true,
});
export const forgetGroupSchema = z.object({
  tags: z.array(z.string()).nullable(),
  host: z.string(),
  paths: z.array(z.string()).nullable(),
  keep: z.array(groupSnapshotSchema).nullable(),
  remove: z.array(groupSnapshotSchema).nullable(),
});
export const forgetOutputSchema = z.array(forgetGroupSchema);

export const configSchema = z.object({
  version: z.number(),
  id: z.string(),
  chunker_polynomial: z.string().optional(),
});
