import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { ToolContext } from '../../src/tools/context.js';
import {
  drainJetStream,
  httpSource,
  jetStreamPlan,
  mergeJsz,
  parseJsz,
} from '../../src/tools/lib/jetstream.js';

// Shapes as nats-server 2.9 answers /jsz?consumers=true (trimmed).
const enabled = JSON.stringify({
  server_id: 'NB57',
  config: { max_memory: 1, max_storage: 1, store_dir: '/data/jetstream' },
  streams: 2,
  account_details: [
    {
      name: '$G',
      stream_detail: [
        { name: 'EPISODES', consumer_detail: [{ name: 'trainer', num_ack_pending: 3, num_pending: 2 }] },
        { name: 'EVENTS', consumer_detail: [{ name: 'audit', num_ack_pending: 0, num_pending: 0 }] },
      ],
    },
  ],
});

describe('parseJsz', () => {
  it("reads each consumer's messages awaiting ack and not yet delivered", () => {
    expect(parseJsz(enabled, 'GET /jsz')).toEqual({
      enabled: true,
      clusterSize: 1,
      streams: ['$G/EPISODES', '$G/EVENTS'],
      consumers: [
        {
          account: '$G',
          stream: 'EPISODES',
          consumer: 'trainer',
          ackPending: 3,
          pending: 2,
          leads: true,
          leader: null,
        },
        {
          account: '$G',
          stream: 'EVENTS',
          consumer: 'audit',
          ackPending: 0,
          pending: 0,
          leads: true,
          leader: null,
        },
      ],
    });
  });

  it('a server without JetStream is disabled, with no consumers', () => {
    const off = JSON.stringify({ server_id: 'ND4F', disabled: true, config: { max_memory: 0 }, streams: 0 });
    expect(parseJsz(off, 'GET /jsz')).toMatchObject({ enabled: false, streams: [], consumers: [] });
  });

  it('another page of the monitor (healthz), or no JSON at all, is an error naming the source, never "nothing pending"', () => {
    expect(() => parseJsz('{"status":"ok"}', 'GET http://127.0.0.1:8222/healthz')).toThrow(
      /GET http:\/\/127\.0\.0\.1:8222\/healthz did not answer with \/jsz JSON/,
    );
    expect(() => parseJsz('<html>', 'wget in nats')).toThrow(
      /wget in nats did not answer with \/jsz JSON: <html>/,
    );
  });
});

describe('lifecycle.jetstream', () => {
  const parse = (jetstream: unknown) => configSchema.parse({ lifecycle: { jetstream } }).lifecycle.jetstream;

  it('defaults to the nats service monitor port, 60 s', () => {
    expect(jetStreamPlan(parse({}), false)).toBe(
      "drain NATS JetStream: wait up to 60s until no consumer has messages awaiting ack (/jsz on nats's monitor port 8222)",
    );
  });

  it('on Swarm, only with url or exec', () => {
    expect(jetStreamPlan(parse({}), true)).toMatch(
      /skipped on Swarm without lifecycle\.jetstream\.url, urls or exec/,
    );
    expect(jetStreamPlan(parse({ url: 'http://10.0.0.5:8222' }), true)).toMatch(
      /\(http:\/\/10\.0\.0\.5:8222\/jsz\)$/,
    );
    expect(jetStreamPlan(parse({ enabled: false }), false)).toMatch(/disabled/);
  });

  it('url and exec together are refused', () => {
    expect(() => parse({ url: 'http://127.0.0.1:8222', exec: ['wget', '-qO-', 'x'] })).toThrow(
      /at most one of url, urls or exec/,
    );
  });
});

// A three-server cluster as nats-server 2.9.10 reports it (captured from real servers atk-n1..3):
// stream R3 replicated on all three, its consumer W led by atk-n2 with 3 messages awaiting ack;
// stream R1 only on atk-n1, its consumer W with 3 awaiting ack.
const server = (consumers: object[], streams: string[]) =>
  JSON.stringify({
    server_id: 'x',
    config: {},
    meta_cluster: { name: 'atkc', leader: 'atk-n2', cluster_size: 3 },
    account_details: [
      {
        name: '$G',
        stream_detail: streams.map((name) => ({
          name,
          consumer_detail: consumers.filter((c) => (c as { stream: string }).stream === name),
        })),
      },
    ],
  });
const r3Follower = (self: string) => ({
  stream: 'R3',
  name: 'W',
  num_ack_pending: 0,
  num_pending: 5,
  cluster: {
    leader: 'atk-n2',
    replicas: [{ name: 'atk-n2' }, { name: self === 'atk-n1' ? 'atk-n3' : 'atk-n1' }],
  },
});
const n1 = server(
  [
    r3Follower('atk-n1'),
    { stream: 'R1', name: 'W', num_ack_pending: 3, num_pending: 2, cluster: { leader: 'atk-n1' } },
  ],
  ['R3', 'R1'],
);
const n2 = server(
  [
    {
      stream: 'R3',
      name: 'W',
      num_ack_pending: 3,
      num_pending: 2,
      cluster: { leader: 'atk-n2', replicas: [{ name: 'atk-n1' }, { name: 'atk-n3' }] },
    },
  ],
  ['R3'],
);
const n3 = server([r3Follower('atk-n3')], ['R3']);

describe('mergeJsz (a JetStream cluster)', () => {
  it("counts each consumer as its leader reports it, never a follower's zero", () => {
    const m = mergeJsz([parseJsz(n1, 'n1'), parseJsz(n2, 'n2'), parseJsz(n3, 'n3')], ['n1', 'n2', 'n3']);
    expect(m.streams).toBe(2);
    expect(m.consumers.map((c) => [c.stream, c.consumer, c.ackPending, c.pending]).sort()).toEqual([
      ['R1', 'W', 3, 2],
      ['R3', 'W', 3, 2],
    ]);
  });

  it('one server of three read is refused: a stream on another server, or a follower, would say nothing is pending', () => {
    expect(() => mergeJsz([parseJsz(n3, 'GET n3')], ['GET n3'])).toThrow(
      /runs as a cluster of 3 servers and \/jsz was read from 1 \(GET n3\)/,
    );
  });

  it("a consumer whose leader's /jsz is not among those read is refused, naming the leader", () => {
    const again = parseJsz(n3, 'n3 again');
    expect(() => mergeJsz([parseJsz(n1, 'n1'), parseJsz(n3, 'n3'), again], ['n1', 'n3', 'n3 again'])).toThrow(
      /the leader of R3\/W \(atk-n2\) was not among the servers read/,
    );
  });
});

describe('mergeJsz (independent servers)', () => {
  it('two servers outside a cluster with the same stream and consumer names: both counted', () => {
    const m = mergeJsz([parseJsz(enabled, 'a'), parseJsz(enabled, 'b')], ['a', 'b']);
    expect(m.streams).toBe(4);
    expect(m.consumers.reduce((n, c) => n + c.ackPending, 0)).toBe(6);
  });
});

describe('drainJetStream bounds, against a local /jsz', () => {
  let http: Server;
  let base: string;
  let mode: 'pending' | 'slow-after-first' = 'pending';
  let reads = 0;
  beforeAll(async () => {
    http = createServer((_req, res) => {
      reads++;
      if (mode === 'slow-after-first' && reads > 1) return; // never answers
      res.end(enabled);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    http.closeAllConnections();
    http.close();
  });
  const cfg = (over: object) =>
    configSchema.parse({ lifecycle: { jetstream: { url: base, ...over } } }).lifecycle.jetstream;
  const ctx = (signal = new AbortController().signal) => ({ signal }) as unknown as ToolContext;

  it('an interval longer than the bound still waits the bound, then names the consumer', async () => {
    mode = 'pending';
    const t0 = Date.now();
    await expect(
      drainJetStream(ctx(), cfg({ timeout: 1500, every: 6000 }), [], false, () => {}),
    ).rejects.toThrow(/^after 1\.\ds, 3 messages still await ack: EPISODES\/trainer 3/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('a server that stops answering near the deadline: still "awaiting ack", within a second past the bound', async () => {
    mode = 'slow-after-first';
    reads = 0;
    const t0 = Date.now();
    await expect(
      drainJetStream(ctx(), cfg({ timeout: 1500, every: 1500 }), [], false, () => {}),
    ).rejects.toThrow(/still await ack: EPISODES\/trainer 3/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a cancel during the wait is a cancel, not NATS unavailable', async () => {
    mode = 'pending';
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    await expect(
      drainJetStream(ctx(abort.signal), cfg({ timeout: 10_000, every: 200 }), [], false, () => {}),
    ).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('addresses are tried in order and the first that answers is kept (a published port refused, the container address)', async () => {
    mode = 'pending';
    const closed = 'http://127.0.0.1:1';
    const src = httpSource(ctx(), [closed, base]);
    expect(await src.read(2000)).toContain('EPISODES');
    expect(src.describe).toBe(`GET ${base}/jsz?consumers=true`);
  });
});
