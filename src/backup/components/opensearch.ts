import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { OpenSearchSnapshots } from '../../adapters/opensearch/snapshots.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import type { ComponentEntry } from '../manifest.js';
import type { BackupStore, Reason } from '../store.js';

export function snapshots(ctx: ToolContext): OpenSearchSnapshots {
  const c = ctx.config.backup.opensearch;
  return new OpenSearchSnapshots(
    c.url,
    c.repository,
    c.location,
    Math.max(ctx.config.docker.timeout, 600_000),
  );
}

function unreachable(ctx: ToolContext, err: unknown): ToolError {
  return new ToolError(
    'upstream_unavailable',
    `OpenSearch at ${ctx.config.backup.opensearch.url}: ${(err as Error).message}`,
    {
      hint: 'check backup.opensearch.url (a port published on 127.0.0.1) and that the cluster is up',
    },
  );
}

/**
 * Registers the fs repository once, then a snapshot with wait_for_completion; records name and
 * indices. The snapshot stays in OpenSearch's repository; a small JSON record of it is stored in
 * restic so retention treats it like every other component (prune deletes the OpenSearch snapshot
 * of a record it removes).
 */
export async function backupOpenSearch(
  ctx: ToolContext,
  store: BackupStore,
  id: string,
  reason: Reason,
): Promise<ComponentEntry> {
  const api = snapshots(ctx);
  const name = `doom-ops-${ctx.project}-${id}`.toLowerCase();
  let registered: boolean;
  let snap: Awaited<ReturnType<OpenSearchSnapshots['create']>>;
  try {
    registered = await api.ensureRepository();
    snap = await api.create(name);
  } catch (err) {
    throw unreachable(ctx, err);
  }
  if (snap.state !== 'SUCCESS')
    throw new ToolError('failed', `OpenSearch snapshot ${name} finished ${snap.state}`, {
      hint: 'GET _snapshot/<repository>/<snapshot> shows the failed shards',
    });
  const details = {
    snapshot: snap.snapshot,
    indices: snap.indices,
    state: snap.state,
    repositoryRegistered: registered,
  };
  const record = Buffer.from(
    `${JSON.stringify({ repository: ctx.config.backup.opensearch.repository, ...details })}\n`,
  );
  const data = await store.writeData(Readable.from([record]), {
    id,
    component: 'opensearch',
    target: ctx.config.backup.opensearch.repository,
    reason,
  });
  return {
    component: 'opensearch',
    target: ctx.config.backup.opensearch.repository,
    file: null,
    bytes: record.length,
    sha256: createHash('sha256').update(record).digest('hex'),
    snapshot: data.snapshotId,
    path: data.path,
    details,
  };
}

/** Deletes the OpenSearch snapshot of a pruned backup; false when OpenSearch does not answer. */
export async function deleteSnapshot(ctx: ToolContext, name: string): Promise<boolean> {
  try {
    await snapshots(ctx).delete(name);
    return true;
  } catch {
    return false;
  }
}

export async function checkSnapshot(ctx: ToolContext, entry: ComponentEntry): Promise<string> {
  const name = String(entry.details.snapshot);
  const snap = await snapshots(ctx).get(name);
  if (!snap) throw new Error(`snapshot ${name} is not in repository ${entry.target}`);
  if (snap.state !== 'SUCCESS') throw new Error(`snapshot ${name} is ${snap.state}`);
  const want = (entry.details.indices as string[]).slice().sort().join(',');
  if (snap.indices.slice().sort().join(',') !== want)
    throw new Error(`snapshot ${name} holds other indices than recorded`);
  return `snapshot ${name} SUCCESS with ${snap.indices.length} indices`;
}

export async function restoreOpenSearch(ctx: ToolContext, entry: ComponentEntry) {
  try {
    return await snapshots(ctx).restore(String(entry.details.snapshot), entry.details.indices as string[]);
  } catch (err) {
    throw unreachable(ctx, err);
  }
}
