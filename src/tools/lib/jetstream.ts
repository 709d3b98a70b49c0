import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../config/schema.js';
import { isToolError, ToolError } from '../../errors.js';
import { deadline } from '../../util/deadline.js';
import type { ToolContext } from '../context.js';
import { requestFailure } from './deep-check.js';
import { execInUnit, type RunningUnit } from './swarm-lifecycle.js';

type JetStreamConfig = Config['lifecycle']['jetstream'];

/** One JetStream consumer, as one server's `/jsz?consumers=true` reports it. */
export interface ConsumerState {
  account: string;
  stream: string;
  consumer: string;
  /** Delivered to the consumer but not acknowledged yet (`num_ack_pending`): work in flight. */
  ackPending: number;
  /** In the stream, not delivered to the consumer yet (`num_pending`): kept on disk, delivered after a restart. */
  pending: number;
  /**
   * Whether this server leads the consumer, so its counts are the consumer's: a server outside a
   * cluster always does; in a cluster, a follower's copy shows no ack pending (its `cluster.leader`
   * is among its `cluster.replicas`, the peers other than itself).
   */
  leads: boolean;
  /** The consumer's leader as the server names it (null outside a cluster). */
  leader: string | null;
}

/** What one server's `/jsz?consumers=true` says. */
export interface JetStreamState {
  enabled: boolean;
  /** `meta_cluster.cluster_size`: 1 outside a cluster. */
  clusterSize: number;
  /** The streams this server hosts (`account/stream`). */
  streams: string[];
  consumers: ConsumerState[];
}

interface ClusterInfo {
  leader?: string;
  replicas?: Array<{ name?: string }>;
}

interface Jsz {
  server_id?: string;
  disabled?: boolean;
  config?: unknown;
  meta_cluster?: { cluster_size?: number };
  account_details?: Array<{
    name?: string;
    stream_detail?: Array<{
      name?: string;
      consumer_detail?: Array<{
        name?: string;
        num_ack_pending?: number;
        num_pending?: number;
        cluster?: ClusterInfo;
      }>;
    }>;
  }>;
}

/**
 * Parses the JSON of NATS's `/jsz?consumers=true` (the monitor port; every account is listed). A
 * server without JetStream answers `"disabled": true`: `enabled` false. Throws a ToolError naming
 * `source` when the text is not /jsz JSON (no `server_id` or `config`).
 */
export function parseJsz(text: string, source: string): JetStreamState {
  const notJsz = () =>
    new ToolError('failed', `${source} did not answer with /jsz JSON: ${text.trim().slice(0, 120)}`, {
      hint: 'point lifecycle.jetstream.url (or exec) at the NATS monitor port (nats-server -m 8222)',
    });
  let body: Jsz;
  try {
    body = JSON.parse(text) as Jsz;
  } catch {
    throw notJsz();
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    (body.server_id === undefined && body.config === undefined)
  )
    throw notJsz();
  const streams: string[] = [];
  const consumers: ConsumerState[] = [];
  for (const a of body.account_details ?? [])
    for (const s of a.stream_detail ?? []) {
      streams.push(`${a.name ?? ''}/${s.name ?? ''}`);
      for (const c of s.consumer_detail ?? []) {
        const leader = c.cluster?.leader ?? null;
        consumers.push({
          account: a.name ?? '',
          stream: s.name ?? '',
          consumer: c.name ?? '',
          ackPending: c.num_ack_pending ?? 0,
          pending: c.num_pending ?? 0,
          leads: !leader || !(c.cluster?.replicas ?? []).some((r) => r.name === leader),
          leader,
        });
      }
    }
  return { enabled: !body.disabled, clusterSize: body.meta_cluster?.cluster_size ?? 1, streams, consumers };
}

/**
 * The consumers of a JetStream cluster from the /jsz of `read` of its servers: each consumer's
 * counts as its leader reports them. Throws a ToolError when fewer servers were read than the
 * cluster has (a stream hosted only on an unread server would be missed) or when a consumer's
 * leader was not among those read: never a "nothing pending" it cannot know.
 */
export function mergeJsz(
  states: JetStreamState[],
  read: string[],
): { streams: number; consumers: ConsumerState[] } {
  const size = Math.max(1, ...states.map((s) => s.clusterSize));
  const hint =
    "give lifecycle.jetstream.urls with every server's monitor endpoint (or run each server as a container of the nats service), or skip the wait with lifecycle.jetstream.enabled: false";
  if (size > states.length)
    throw new ToolError(
      'failed',
      `NATS JetStream runs as a cluster of ${size} servers and /jsz was read from ${states.length} (${read.join(', ')}): each server lists only the streams it hosts, and only a consumer's leader counts its acks`,
      { hint },
    );
  const byKey = new Map<string, ConsumerState>();
  const followers = new Map<string, ConsumerState>();
  for (const [i, s] of states.entries())
    for (const c of s.consumers) {
      // Servers outside a cluster (replicas of the service, each its own JetStream) share no
      // consumer: the same names on two of them are two consumers.
      const key = `${size > 1 ? '' : `${i}:`}${c.account}/${c.stream}/${c.consumer}`;
      if (c.leads) byKey.set(key, c);
      else followers.set(key, c);
    }
  const leaderless = [...followers].filter(([k]) => !byKey.has(k)).map(([, c]) => c);
  if (leaderless.length)
    throw new ToolError(
      'failed',
      `the leader of ${leaderless.map((c) => `${c.stream}/${c.consumer} (${c.leader})`).join(', ')} was not among the servers read (${read.join(', ')}), so its messages awaiting ack are unknown`,
      { hint },
    );
  return {
    streams: new Set(states.flatMap((s, i) => s.streams.map((x) => (size > 1 ? x : `${i}:${x}`)))).size,
    consumers: [...byKey.values()],
  };
}

/** Where one server's /jsz is read from, in words, and how (within `timeoutMs`). */
export interface JszSource {
  describe: string;
  read: (timeoutMs: number) => Promise<string>;
}

const MAX_BODY = 32 * 1024 * 1024;

function cancelled(): ToolError {
  return new ToolError(
    'cancelled',
    'stack_down was cancelled while waiting for JetStream acks; nothing was stopped',
  );
}

/**
 * GET /jsz?consumers=true from the first of `bases` that answers; once one has, it is the one
 * read from then on (a published port on 127.0.0.1 is tried before the container's own address,
 * which is the one that works when doom-ops itself runs in a container of the stack).
 */
export function httpSource(ctx: ToolContext, bases: string[]): JszSource {
  let candidates = bases.map((b) => `${b.replace(/\/+$/, '')}/jsz?consumers=true`);
  const get = async (url: string, timeoutMs: number): Promise<string> => {
    try {
      const res = await fetch(url, { signal: deadline(ctx.signal, timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        throw new ToolError('failed', `GET ${url} answered HTTP ${res.status}`);
      }
      const len = Number(res.headers.get('content-length') ?? 0);
      if (len > MAX_BODY) {
        await res.body?.cancel();
        throw new ToolError('failed', `GET ${url} answered ${len} bytes, more than the ${MAX_BODY} read`);
      }
      return await res.text();
    } catch (err) {
      if (ctx.signal.aborted) throw cancelled();
      if (isToolError(err)) throw err;
      throw new ToolError('upstream_unavailable', `GET ${url} failed: ${requestFailure(err, timeoutMs)}`, {
        hint: 'check that NATS runs with its monitor port (-m 8222), or set lifecycle.jetstream.url or exec',
      });
    }
  };
  return {
    get describe() {
      return candidates.length === 1 ? `GET ${candidates[0]}` : `GET ${candidates.join(' or ')}`;
    },
    read: async (timeoutMs) => {
      let failure: unknown;
      for (const url of candidates) {
        try {
          const text = await get(url, timeoutMs);
          candidates = [url];
          return text;
        } catch (err) {
          if (isToolError(err) && err.code === 'cancelled') throw err;
          failure = err;
        }
      }
      throw failure;
    },
  };
}

function execSource(ctx: ToolContext, argv: string[], unit: RunningUnit): JszSource {
  return {
    describe: `${argv.join(' ')} in ${unit.name}`,
    read: (timeoutMs) =>
      execInUnit(ctx, unit, argv, timeoutMs).catch((err) => {
        throw ctx.signal.aborted ? cancelled() : err;
      }),
  };
}

/**
 * Where to read /jsz: `urls` (every server of a cluster) or `url`; else `exec` inside each running
 * container of the service; else each container's monitor port, published on the host (127.0.0.1
 * for a wildcard binding), then its own address on its networks. On Swarm, url, urls or exec only
 * (task addresses are on overlay networks).
 */
async function sourcesFor(
  ctx: ToolContext,
  cfg: JetStreamConfig,
  units: RunningUnit[],
  swarm: boolean,
): Promise<JszSource[]> {
  if (cfg.urls) return cfg.urls.map((u) => httpSource(ctx, [u]));
  if (cfg.url) return [httpSource(ctx, [cfg.url])];
  if (cfg.exec) return units.map((u) => execSource(ctx, cfg.exec!, u));
  if (swarm)
    throw new ToolError(
      'invalid_input',
      'on a Swarm stack /jsz is read from lifecycle.jetstream.url, urls or exec only',
      {
        hint: "set lifecycle.jetstream.url to the NATS monitor port as doom-ops reaches it, or exec to a command printing /jsz?consumers=true in nats's task",
      },
    );
  const port = `${cfg.monitorPort}/tcp`;
  return Promise.all(
    units.map(async (unit) => {
      const d = await ctx.docker.inspect(unit.id, ctx.signal);
      const bases = [
        ...d.publishedPorts
          .filter((p) => p.containerPort === port)
          .map((p) => {
            const host = ['0.0.0.0', '::', ''].includes(p.hostIp) ? '127.0.0.1' : p.hostIp;
            return `http://${host.includes(':') ? `[${host}]` : host}:${p.hostPort}`;
          }),
        ...d.networks.filter((n) => n.ip).map((n) => `http://${n.ip}:${cfg.monitorPort}`),
      ];
      if (!bases.length)
        throw new ToolError('failed', `${unit.name} publishes no port ${port} and has no network address`, {
          hint: 'publish the NATS monitor port on 127.0.0.1, or set lifecycle.jetstream.url or exec',
        });
      return httpSource(ctx, [...new Set(bases)]);
    }),
  );
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function awaiting(consumers: ConsumerState[]): string {
  return consumers
    .filter((c) => c.ackPending > 0)
    .map((c) => `${c.stream}/${c.consumer} ${c.ackPending}`)
    .join(', ');
}

/** The plan's line for the JetStream step. */
export function jetStreamPlan(cfg: JetStreamConfig, swarm: boolean): string {
  if (!cfg.enabled) return 'drain NATS JetStream: disabled (lifecycle.jetstream.enabled)';
  if (swarm && !cfg.url && !cfg.urls && !cfg.exec)
    return 'drain NATS JetStream: skipped on Swarm without lifecycle.jetstream.url, urls or exec';
  const from = cfg.urls
    ? `/jsz of ${cfg.urls.join(', ')}`
    : cfg.url
      ? `${cfg.url}/jsz`
      : cfg.exec
        ? `${cfg.exec.join(' ')} in ${cfg.service}`
        : `/jsz on ${cfg.service}'s monitor port ${cfg.monitorPort}`;
  return `drain NATS JetStream: wait up to ${cfg.timeout / 1000}s until no consumer has messages awaiting ack (${from})`;
}

/**
 * stack_down's JetStream step: reads /jsz of every server (`units`: the running containers of the
 * NATS service) every `cfg.every` ms until no consumer has messages delivered but unacknowledged
 * (`num_ack_pending`, as each consumer's leader reports it), for at most `cfg.timeout` ms: a read
 * never runs past the deadline by more than a second, and the last one is made at it. Returns
 * the step's detail (what was waited for, how long, the undelivered messages that stay in their
 * streams, where it was read). Throws a ToolError naming each consumer still awaiting acks at
 * the deadline; when /jsz cannot be read or does not cover the cluster (nothing is known of the
 * work in flight then); `cancelled` when the call is.
 */
export async function drainJetStream(
  ctx: ToolContext,
  cfg: JetStreamConfig,
  units: RunningUnit[],
  swarm: boolean,
  progress: (message: string) => void,
): Promise<string> {
  const started = Date.now();
  const end = started + cfg.timeout;
  const sources = await sourcesFor(ctx, cfg, units, swarm);
  const where = () => sources.map((s) => s.describe).join('; ');
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  let first: number | null = null;
  let last: ConsumerState[] | null = null;
  const stillAwaiting = (consumers: ConsumerState[], inFlight: number) =>
    new ToolError(
      'failed',
      `after ${elapsed()}, ${plural(inFlight, 'message')} still await ack: ${awaiting(consumers)} (${where()})`,
      {
        hint:
          'let the consumers finish and run stack_down again (or raise lifecycle.jetstream.timeout); with force, ' +
          'the unacknowledged messages are redelivered after the restart',
      },
    );
  for (;;) {
    let states: JetStreamState[];
    try {
      const timeoutMs = Math.min(10_000, Math.max(1000, end - Date.now()));
      states = await Promise.all(sources.map(async (s) => parseJsz(await s.read(timeoutMs), s.describe)));
    } catch (err) {
      // Past the deadline, a read that fails does not hide what is known to be pending.
      if (last && Date.now() >= end && !(isToolError(err) && err.code === 'cancelled'))
        throw stillAwaiting(
          last,
          last.reduce((n, c) => n + c.ackPending, 0),
        );
      throw err;
    }
    if (states.every((s) => !s.enabled)) return `JetStream is not enabled (${where()}): nothing to drain`;
    const { streams, consumers } = mergeJsz(
      states.filter((s) => s.enabled),
      sources.map((s) => s.describe),
    );
    const inFlight = consumers.reduce((n, c) => n + c.ackPending, 0);
    first ??= inFlight;
    last = consumers;
    if (inFlight === 0) {
      const undelivered = consumers.reduce((n, c) => n + c.pending, 0);
      return [
        first
          ? `${plural(first, 'message')} awaiting ack drained in ${elapsed()}`
          : 'no message awaiting ack',
        `${plural(consumers.length, 'consumer')} on ${plural(streams, 'stream')}`,
        ...(undelivered ? [`${plural(undelivered, 'undelivered message')} stay in their streams`] : []),
        where(),
      ].join('; ');
    }
    const left = end - Date.now();
    if (left <= 0) throw stillAwaiting(consumers, inFlight);
    progress(`waiting for ${plural(inFlight, 'message')} awaiting ack: ${awaiting(consumers)}`);
    await sleep(Math.min(cfg.every, left), undefined, { signal: ctx.signal }).catch(() => {
      throw cancelled();
    });
  }
}
