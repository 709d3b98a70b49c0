import { z } from 'zod';
import { COMPONENTS, PHASES } from '../../backup/manifest.js';
import { runBackup } from '../../backup/run-backup.js';
import { defineTool } from '../define-tool.js';

export const backupTool = defineTool({
  name: 'backup',
  title: 'Back up the stack',
  description:
    'Writes a backup into the restic repository (backup.repository: local by default, encrypted, deduplicated, ' +
    'compressed), then copies it to each backup.offsite repository. Components: mongodb (mongodump --archive --gzip by ' +
    "exec), opensearch (snapshot API; the snapshot name is recorded), duckdb (each agent's play log after CHECKPOINT, " +
    'read back and opened with DuckDB), volumes (every named volume of the stack by its Compose labels, or ' +
    'backup.volumes, minus backup.exclude; services labelled doom-ops.backup.stop=true are stopped while archived), or ' +
    'full (all). One restic snapshot per target: streamed from the Engine API and hashed (sha256) on the way, or, for ' +
    "a volume whose directory doom-ops can read on the engine's host, read by restic file by file (incremental: " +
    'unchanged files are not read again; see access and filesUnchanged). On a Swarm stack each volume is archived ' +
    "on the node holding it, through that node's engine (swarm.nodes; the entry records the node, and a node without " +
    'an endpoint is a failure naming it); mongodump and DuckDB checkpoints run in the task containers there. A component that fails does not stop the others: the result has phase Completed, PartiallyFailed (each ' +
    'failure with its reason; the rest is restorable) or Failed. Serialized with other changes by the stack lock: ' +
    'waits up to 15 minutes for one in progress.',
  summary:
    "Use to back up the stack's data (mongodb, opensearch, duckdb, volumes or full) to restic and offsite. " +
    'Writes a new backup; returns its snapshots and any failures.',
  risk: 'write',
  idempotent: false,
  stackKinds: ['compose', 'swarm'],
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
    phase: z.enum(PHASES),
    repository: z.string().describe('The local restic repository (URL, any password in it masked)'),
    kind: z.string(),
    components: z.array(
      z.object({
        component: z.string(),
        target: z.string(),
        bytes: z.number().describe('Bytes of the stream stored (before restic deduplicates and compresses)'),
        bytesAdded: z
          .number()
          .nullable()
          .describe('New bytes restic added (after deduplication, before compression)'),
        sha256: z
          .string()
          .nullable()
          .describe('sha256 of the stored stream; null for a volume restic read file by file'),
        snapshot: z.string().nullable().describe('restic snapshot id (the short id restic prints)'),
        access: z
          .enum(['directory', 'engine'])
          .nullable()
          .describe(
            'Volumes: directory = restic read the volume on this host file by file (files unchanged since the last backup are not read again); engine = a tar streamed through the Engine API (see backup.volumeAccess). null for other components',
          ),
        filesUnchanged: z
          .number()
          .nullable()
          .describe('Volumes read as a directory: files restic found unchanged and did not read again'),
        node: z
          .string()
          .nullable()
          .describe(
            'Swarm: the node whose engine the data was read through (recorded in the backup); null on Compose',
          ),
      }),
    ),
    failures: z.array(z.object({ component: z.string(), target: z.string().optional(), reason: z.string() })),
    skipped: z.array(z.string()),
    offsite: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
    notes: z.array(z.string()),
    verified: z.boolean(),
    durationMs: z.number(),
  }),
  async run(ctx, input) {
    const started = Date.now();
    const r = await runBackup(ctx, input.component, 'requested');
    const m = r.manifest;
    return {
      id: m.id,
      phase: m.phase ?? 'Completed',
      repository: r.repository,
      kind: m.kind,
      components: m.components.map((c) => ({
        component: c.component,
        target: c.target,
        bytes: c.bytes,
        bytesAdded: typeof c.details.bytesAdded === 'number' ? c.details.bytesAdded : null,
        sha256: c.sha256,
        snapshot: c.snapshot ?? null,
        access:
          c.details.access === 'directory'
            ? ('directory' as const)
            : c.details.access === 'engine'
              ? ('engine' as const)
              : null,
        filesUnchanged: typeof c.details.filesUnchanged === 'number' ? c.details.filesUnchanged : null,
        node: typeof c.details.node === 'string' ? c.details.node : null,
      })),
      failures: m.failures ?? [],
      skipped: m.skipped ?? [],
      offsite: r.offsite,
      notes: r.notes,
      verified: r.verification.ok,
      durationMs: Date.now() - started,
    };
  },
});
