import { OpenSearchSnapshots } from '../../adapters/opensearch/snapshots.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import type { ComponentEntry } from '../manifest.js';

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

/** Registers the fs repository once, then a snapshot with wait_for_completion; records name and indices. */
export async function backupOpenSearch(ctx: ToolContext, id: string): Promise<ComponentEntry> {
  const api = snapshots(ctx);
  const name = `doom-ops-${id}`.toLowerCase();
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
  return {
    component: 'opensearch',
    target: ctx.config.backup.opensearch.repository,
    file: null,
    bytes: 0,
    sha256: null,
    details: {
      snapshot: snap.snapshot,
      indices: snap.indices,
      state: snap.state,
      repositoryRegistered: registered,
    },
  };
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
