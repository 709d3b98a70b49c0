import type { Client } from '@opensearch-project/opensearch';

export interface SnapshotInfo {
  snapshot: string;
  state: string;
  indices: string[];
}

/**
 * The OpenSearch snapshot API as the handbook uses it: an fs repository registered once,
 * snapshots created with wait_for_completion, restored through _restore. Only the endpoints
 * used here are called (the test stand-in implements exactly these).
 */
export class OpenSearchSnapshots {
  private clientPromise: Promise<Client> | undefined;

  constructor(
    private readonly url: string,
    private readonly repository: string,
    private readonly location: string,
    private readonly timeoutMs: number,
  ) {}

  /** The client module is loaded on first use (most doom-ops processes never talk to OpenSearch). */
  private get client(): Promise<Client> {
    this.clientPromise ??= import('@opensearch-project/opensearch').then(
      ({ Client }) => new Client({ node: this.url, requestTimeout: this.timeoutMs, maxRetries: 0 }),
    );
    return this.clientPromise;
  }

  async health(): Promise<string> {
    const r = await (await this.client).cluster.health();
    return String((r.body as { status?: string }).status ?? 'unknown');
  }

  /** Flushes every index to disk (POST /_flush): what a shutdown needs before the container stops. */
  async flush(): Promise<{ total: number; failed: number }> {
    const r = await (await this.client).indices.flush();
    const shards = (r.body as { _shards?: { total?: number; failed?: number } })._shards ?? {};
    return { total: shards.total ?? 0, failed: shards.failed ?? 0 };
  }

  /** Registers the fs repository unless it is already there. */
  async ensureRepository(): Promise<boolean> {
    const existing = await (await this.client).snapshot
      .getRepository({ repository: this.repository })
      .then((r) => r.body as Record<string, unknown>)
      .catch((err: { meta?: { statusCode?: number } }) => {
        if (err.meta?.statusCode === 404) return {};
        throw err;
      });
    if (this.repository in existing) return false;
    await (await this.client).snapshot.createRepository({
      repository: this.repository,
      body: { type: 'fs', settings: { location: this.location, compress: true } },
    });
    return true;
  }

  async create(snapshot: string): Promise<SnapshotInfo> {
    const r = await (await this.client).snapshot.create({
      repository: this.repository,
      snapshot,
      wait_for_completion: true,
      body: { indices: '*', include_global_state: false },
    });
    return info((r.body as { snapshot: RawSnapshot }).snapshot);
  }

  async get(snapshot: string): Promise<SnapshotInfo | null> {
    try {
      const r = await (await this.client).snapshot.get({ repository: this.repository, snapshot });
      const s = (r.body as { snapshots?: RawSnapshot[] }).snapshots?.[0];
      return s ? info(s) : null;
    } catch (err) {
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return null;
      throw err;
    }
  }

  /** Deletes a snapshot (DELETE _snapshot/<repository>/<snapshot>); a snapshot that is gone already is fine. */
  async delete(snapshot: string): Promise<void> {
    try {
      await (await this.client).snapshot.delete({ repository: this.repository, snapshot });
    } catch (err) {
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return;
      throw err;
    }
  }

  /**
   * Restores the snapshot's indices. The API refuses to restore over an open index, so the ones
   * that exist are closed first (the restore reopens them).
   */
  async restore(snapshot: string, indices: string[]): Promise<{ closed: string[]; restored: string[] }> {
    const existing = await (await this.client).cat
      .indices({ format: 'json' })
      .then((r) => (r.body as Array<{ index: string }>).map((i) => i.index));
    const closed = indices.filter((i) => existing.includes(i));
    if (closed.length) await (await this.client).indices.close({ index: closed.join(',') });
    const r = await (await this.client).snapshot.restore({
      repository: this.repository,
      snapshot,
      wait_for_completion: true,
      body: { indices: indices.join(','), ignore_unavailable: true, include_global_state: false },
    });
    const restored = (r.body as { snapshot?: { indices?: string[] } }).snapshot?.indices ?? indices;
    return { closed, restored };
  }
}

interface RawSnapshot {
  snapshot: string;
  state?: string;
  indices?: string[];
}

function info(s: RawSnapshot): SnapshotInfo {
  return { snapshot: s.snapshot, state: s.state ?? 'UNKNOWN', indices: s.indices ?? [] };
}
