import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A local stand-in for the OpenSearch endpoints doom-ops uses (cluster health, snapshot repository,
 * snapshot create/get/delete/restore, _cat/indices, index close), faithful where it matters: snapshots
 * hold the open indices, and _restore refuses an index that is open, as OpenSearch does.
 */
export class OpenSearchStandIn {
  readonly calls: Array<{ method: string; path: string; body: unknown }> = [];
  readonly indices = new Map<string, { status: 'open' | 'close'; docs: number }>();
  readonly repos = new Map<string, unknown>();
  readonly snapshots = new Map<string, { indices: string[]; docs: Record<string, number> }>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const body = await readBody(req);
      const u = new URL(req.url ?? '/', 'http://x');
      this.calls.push({ method: req.method ?? '', path: u.pathname, body });
      const parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const [status, out] = this.handle(req.method ?? 'GET', parts, body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private handle(method: string, p: string[], body: any): [number, unknown] {
    const missing = (type: string, reason: string): [number, unknown] => [
      404,
      { error: { type, reason }, status: 404 },
    ];
    if (p[0] === '_cluster' && p[1] === 'health') return [200, { status: 'green' }];
    // OpenSearch takes GET or POST /_flush; the client sends GET when there is no body.
    if (p.length === 1 && p[0] === '_flush' && (method === 'POST' || method === 'GET'))
      return [200, { _shards: { total: this.indices.size, successful: this.indices.size, failed: 0 } }];
    if (p[0] === '_cat' && p[1] === 'indices')
      return [
        200,
        [...this.indices].map(([index, i]) => ({ index, status: i.status, 'docs.count': String(i.docs) })),
      ];
    if (p.length === 2 && p[1] === '_close' && method === 'POST') {
      for (const name of p[0]!.split(',')) {
        const i = this.indices.get(name);
        if (!i) return missing('index_not_found_exception', `no such index [${name}]`);
        i.status = 'close';
      }
      return [200, { acknowledged: true }];
    }
    if (p[0] !== '_snapshot')
      return missing('illegal_argument_exception', `no handler for ${method} /${p.join('/')}`);
    const [, repo, snap, action] = p;
    if (!repo) return missing('illegal_argument_exception', 'repository missing');
    if (!snap) {
      if (method === 'GET')
        return this.repos.has(repo)
          ? [200, { [repo]: this.repos.get(repo) }]
          : missing('repository_missing_exception', `[${repo}] missing`);
      if (body?.type !== 'fs' || !body?.settings?.location)
        return [400, { error: { reason: 'fs repository needs location' } }];
      this.repos.set(repo, body);
      return [200, { acknowledged: true }];
    }
    if (!this.repos.has(repo)) return missing('repository_missing_exception', `[${repo}] missing`);
    if (!action && (method === 'PUT' || method === 'POST')) {
      const open = [...this.indices].filter(([, i]) => i.status === 'open').map(([n]) => n);
      const docs = Object.fromEntries(open.map((n) => [n, this.indices.get(n)!.docs]));
      this.snapshots.set(snap, { indices: open, docs });
      return [200, { snapshot: { snapshot: snap, indices: open, state: 'SUCCESS', shards: { failed: 0 } } }];
    }
    if (!action && method === 'GET') {
      const s = this.snapshots.get(snap);
      return s
        ? [200, { snapshots: [{ snapshot: snap, indices: s.indices, state: 'SUCCESS' }] }]
        : missing('snapshot_missing_exception', `[${repo}:${snap}] is missing`);
    }
    if (!action && method === 'DELETE') {
      if (!this.snapshots.delete(snap))
        return missing('snapshot_missing_exception', `[${repo}:${snap}] is missing`);
      return [200, { acknowledged: true }];
    }
    if (action === '_restore' && method === 'POST') {
      const s = this.snapshots.get(snap);
      if (!s) return missing('snapshot_missing_exception', `[${repo}:${snap}] is missing`);
      const wanted = String(body?.indices ?? '*').split(',');
      for (const name of wanted)
        if (this.indices.get(name)?.status === 'open')
          return [
            500,
            {
              error: {
                type: 'snapshot_restore_exception',
                reason: `cannot restore index [${name}] because an open index with same name already exists in the cluster`,
              },
            },
          ];
      for (const name of wanted) this.indices.set(name, { status: 'open', docs: s.docs[name] ?? 0 });
      return [200, { snapshot: { snapshot: snap, indices: wanted, shards: { failed: 0 } } }];
    }
    return missing('illegal_argument_exception', `no handler for ${method} /${p.join('/')}`);
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}
