import type { MongoClient } from 'mongodb';
import { z } from 'zod';
import { type ErrorCode, ToolError } from '../../errors.js';

/**
 * MongoDB through the official driver (the `mongodb` package): the only code that uses it. Each
 * function opens a short-lived MongoClient on `uri` (a mongodb:// or mongodb+srv:// URI as doom-ops
 * reaches the server), runs its commands and always closes the client again. The driver module is
 * loaded on first use: most doom-ops processes never talk to MongoDB.
 *
 * Every failure is a ToolError saying what failed, why and what to do, with the URI shown only
 * with its password masked (and the password masked in any text the driver returned). The codes:
 * upstream_unavailable (no server answered within the timeout), timeout (the signal's deadline),
 * cancelled (the signal was aborted), config_invalid (not a usable URI), failed (the server
 * refused or answered with an error).
 */
export interface MongoCallOptions {
  /**
   * Milliseconds the driver may take to find a server (serverSelectionTimeoutMS) and to open a
   * connection to it (connectTimeoutMS). Waiting for an answer once connected is bounded by `signal`.
   */
  timeoutMs: number;
  /** Aborting it closes the client and rejects: with `timeout` when its reason is a TimeoutError, else `cancelled`. */
  signal?: AbortSignal;
}

/** What mongoStatus returns: the single source of its type and of the tools' output schemas. */
export const mongoStatusSchema = z.object({
  version: z.string().describe('serverStatus.version, e.g. 7.0.12'),
  connections: z
    .object({
      current: z.number().nullable(),
      available: z.number().nullable(),
      totalCreated: z.number().nullable(),
    })
    .describe(
      'serverStatus.connections: incoming connections open now, how many more it accepts, opened since it started (null: not reported)',
    ),
  memMiB: z
    .object({ resident: z.number().nullable(), virtual: z.number().nullable() })
    .describe('serverStatus.mem, in MiB as the server reports it (null: not reported)'),
  replicaSet: z
    .object({
      set: z.string(),
      primary: z.string().nullable().describe('the member whose state is PRIMARY; null when none is'),
      members: z.array(
        z.object({
          name: z.string(),
          state: z.string().describe('stateStr: PRIMARY, SECONDARY, ARBITER, (not reachable/healthy), …'),
          health: z.number().nullable().describe('1 up, 0 down'),
        }),
      ),
    })
    .nullable()
    .describe('replSetGetStatus, read only when asked for (mongodb.replicaSet); null otherwise'),
});
export type MongoStatus = z.output<typeof mongoStatusSchema>;

const URI_HINT =
  'give a mongodb:// or mongodb+srv:// URI with user and password percent-encoded (encodeURIComponent), e.g. mongodb://127.0.0.1:27017';

/** Databases that hold no application data: never counted. */
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * Whether countPerCollection counts the namespace "<db>.<collection>": not in admin, local or
 * config, and not a system.* collection (time-series buckets, profiles, views' definitions).
 */
export function isCountedNamespace(ns: string): boolean {
  const dot = ns.indexOf('.');
  return dot > 0 && !SYSTEM_DATABASES.has(ns.slice(0, dot)) && !ns.slice(dot + 1).startsWith('system.');
}

/**
 * The server's state: `ping`, then `serverStatus` (and `replSetGetStatus` with `replicaSet: true`),
 * all on the admin database, with read preference primaryPreferred so that a replica set member
 * answers even while the set has no primary (the caller judges that from `replicaSet.primary`).
 * A server that is not in a replica set answers replSetGetStatus with an error, which is thrown.
 */
export async function mongoStatus(
  uri: string,
  options: MongoCallOptions & { replicaSet: boolean },
): Promise<MongoStatus> {
  return withClient(uri, options, 'MongoDB status', async (client, step) => {
    const admin = client.db('admin');
    const run = (command: Record<string, unknown>) =>
      admin.command(command, { readPreference: 'primaryPreferred' });
    step('ping');
    await run({ ping: 1 });
    step('serverStatus');
    const s = await run({ serverStatus: 1 });
    const conn = (s.connections ?? {}) as Record<string, unknown>;
    const mem = (s.mem ?? {}) as Record<string, unknown>;
    let replicaSet: MongoStatus['replicaSet'] = null;
    if (options.replicaSet) {
      step('replSetGetStatus');
      const r = await run({ replSetGetStatus: 1 });
      const members = ((r.members ?? []) as Array<Record<string, unknown>>).map((m) => ({
        name: String(m.name ?? '?'),
        state: String(m.stateStr ?? '?'),
        health: num(m.health),
      }));
      replicaSet = {
        set: String(r.set ?? '?'),
        primary: members.find((m) => m.state === 'PRIMARY')?.name ?? null,
        members,
      };
    }
    return {
      version: String(s.version ?? 'unknown'),
      connections: {
        current: num(conn.current),
        available: num(conn.available),
        totalCreated: num(conn.totalCreated),
      },
      memMiB: { resident: num(mem.resident), virtual: num(mem.virtual) },
      replicaSet,
    };
  });
}

/**
 * `{ fsync: 1 }` on the admin database: the server flushes every pending write to disk before it
 * answers. `numFiles` is the server's count of files flushed, when its version reports one. Needs
 * the `fsync` privilege (role hostManager or root).
 */
export async function mongoFsync(uri: string, options: MongoCallOptions): Promise<{ numFiles?: number }> {
  return withClient(uri, options, 'MongoDB fsync', async (client, step) => {
    step('fsync');
    const r = await client.db('admin').command({ fsync: 1 });
    const numFiles = num(r.numFiles);
    return numFiles === null ? {} : { numFiles };
  });
}

/**
 * Documents per collection, keyed "<db>.<collection>" (mongodump's names), sorted, for every
 * database but admin, local and config: `listDatabases` (names only), then per database
 * `listCollections` of type collection (views and time-series views have no documents of their
 * own; `system.*` collections are left out too), then `countDocuments({})` per collection.
 *
 * countDocuments, not estimatedDocumentCount: it counts the documents themselves (an aggregation
 * over the collection), exact whatever the server's metadata says, while estimatedDocumentCount
 * reads the collection's count from its metadata, which can be off after an unclean shutdown and
 * is what a restore check must not trust. The price is a scan of each collection: bounded by
 * `signal`, not by `timeoutMs`. Needs listDatabases and read on every database (role backup,
 * readAnyDatabase or root).
 */
export async function countPerCollection(
  uri: string,
  options: MongoCallOptions,
): Promise<Record<string, number>> {
  return withClient(uri, options, 'counting MongoDB documents', async (client, step) => {
    step('listDatabases');
    const dbs = await client.db('admin').admin().listDatabases({ nameOnly: true });
    const out: Record<string, number> = {};
    for (const { name: dbName } of dbs.databases) {
      if (SYSTEM_DATABASES.has(dbName)) continue;
      const db = client.db(dbName);
      step(`listCollections on ${dbName}`);
      const colls = await db.listCollections({ type: 'collection' }, { nameOnly: true }).toArray();
      for (const c of colls) {
        const ns = `${dbName}.${c.name}`;
        if ((c.type !== undefined && c.type !== 'collection') || !isCountedNamespace(ns)) continue;
        step(`countDocuments on ${ns}`);
        out[ns] = await db.collection(c.name).countDocuments({});
      }
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  });
}

/** The URI with its password (everything between the user's ":" and the last "@") masked. */
export function redactMongoUri(uri: string): string {
  const p = passwordOf(uri);
  return p ? `${uri.slice(0, p.start)}***${uri.slice(p.end)}` : uri;
}

/** Where the password of `uri` stands (the userinfo runs to the last "@"; the password may hold "@" or "/"). */
function passwordOf(uri: string): { start: number; end: number; value: string } | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(uri);
  if (!scheme) return undefined;
  const at = uri.lastIndexOf('@');
  const colon = uri.indexOf(':', scheme[0].length);
  if (at === -1 || colon === -1 || colon > at) return undefined;
  return { start: colon + 1, end: at, value: uri.slice(colon + 1, at) };
}

/** Masks `uri` (whole, then its password in every form the driver may print it) in `text`. */
function masker(uri: string): (text: string) => string {
  const pw = passwordOf(uri)?.value;
  const forms = new Set<string>();
  if (pw) {
    forms.add(pw);
    try {
      forms.add(decodeURIComponent(pw));
    } catch {
      // not percent-encoded
    }
    for (const f of [...forms]) forms.add(encodeURIComponent(f));
  }
  const safe = redactMongoUri(uri);
  return (text) => {
    let out = text.split(uri).join(safe);
    for (const f of [...forms].filter((x) => x.length > 0).sort((a, b) => b.length - a.length))
      out = out.split(f).join('***');
    return out;
  };
}

/**
 * Opens a client, runs `fn` and closes the client whatever happens. `step` names the command under
 * way, for the error message. The signal closes the client (ending what is in flight) and rejects.
 */
async function withClient<T>(
  uri: string,
  options: MongoCallOptions,
  what: string,
  fn: (client: MongoClient, step: (name: string) => void) => Promise<T>,
): Promise<T> {
  const mask = masker(uri);
  const where = redactMongoUri(uri);
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw aborted(signal, what, where);
  // An unencoded reserved character makes the driver read part of the password as the host (and
  // print it in its errors): refused before the driver sees the URI.
  if (/[:/?#[\]@]/.test(passwordOf(uri)?.value ?? ''))
    throw new ToolError(
      'config_invalid',
      `${what}: ${where} is not a usable MongoDB URI: its password holds a character that must be percent-encoded (: / ? # [ ] @), or an "@" follows the host`,
      { hint: URI_HINT },
    );
  const { MongoClient } = await import('mongodb');
  let client: MongoClient;
  try {
    client = new MongoClient(uri, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      maxPoolSize: 1,
      appName: 'doom-ops',
    });
  } catch (err) {
    throw new ToolError(
      'config_invalid',
      `${what}: ${where} is not a usable MongoDB URI: ${mask(errorText(err))}`,
      {
        hint: URI_HINT,
      },
    );
  }
  let current = 'connecting';
  let onAbort: (() => void) | undefined;
  const abort = new Promise<never>((_, reject) => {
    onAbort = () => reject(aborted(signal!, what, where));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  abort.catch(() => undefined);
  try {
    return await Promise.race([
      fn(client, (name) => {
        current = name;
      }),
      abort,
    ]);
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw driverError(err, what, current, where, timeoutMs, mask);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // Closing ends the sessions on the server; one that is stuck must not hold the caller longer.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.close().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
  }
}

function aborted(signal: AbortSignal, what: string, where: string): ToolError {
  const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError';
  return timedOut
    ? new ToolError('timeout', `${what} at ${where}: no answer in time`, {
        hint: 'the server is slow or stuck in the command: check its load and its log (docker logs of the mongodb container)',
      })
    : new ToolError('cancelled', `${what} at ${where}: cancelled`);
}

/** MongoDB server error codes with their own advice. */
const AUTH_FAILED = 18;
const UNAUTHORIZED = 13;
const NO_REPLICATION = 76;

function driverError(
  err: unknown,
  what: string,
  step: string,
  where: string,
  timeoutMs: number,
  mask: (text: string) => string,
): ToolError {
  const e = err as { name?: string; code?: unknown; codeName?: string };
  const why = mask(errorText(err));
  const make = (code: ErrorCode, message: string, hint: string) => new ToolError(code, message, { hint });
  if (e.code === AUTH_FAILED)
    return make(
      'failed',
      `${what}: MongoDB at ${where} refused the credentials: ${why}`,
      'check the user and password in the URI (percent-encoded) and its authSource (usually admin)',
    );
  if (e.code === UNAUTHORIZED)
    return make(
      'failed',
      `${what}: ${step} was refused at ${where}: ${why}`,
      'give the URI a user whose roles allow it: clusterMonitor for ping/serverStatus/replSetGetStatus/listDatabases, hostManager for fsync, backup or readAnyDatabase for counting',
    );
  if (e.code === NO_REPLICATION)
    return make(
      'failed',
      `${what}: ${step} at ${where}: the server is not a replica set member (${why})`,
      'set mongodb.replicaSet to false for a standalone mongod, or point mongodb.uri at a member of the set',
    );
  if (
    e.name === 'MongoServerSelectionError' ||
    e.name === 'MongoNetworkError' ||
    e.name === 'MongoNetworkTimeoutError' ||
    e.name === 'MongoTopologyClosedError' ||
    // A mongodb+srv:// name that does not resolve (querySrv ENOTFOUND, ETIMEOUT): nothing to reach.
    /\bquery(Srv|Txt) E[A-Z]+/.test(why)
  )
    return make(
      'upstream_unavailable',
      `${what}: cannot reach MongoDB at ${where} within ${timeoutMs} ms (${step}): ${why}`,
      'check that mongod runs and listens there and that doom-ops can reach that host and port (from the host: a port published on 127.0.0.1; inside the stack: mongodb://mongodb:27017)',
    );
  if (e.name === 'MongoParseError' || e.name === 'MongoInvalidArgumentError' || e.name === 'MongoAPIError')
    return make('config_invalid', `${what}: ${where} is not a usable MongoDB URI: ${why}`, URI_HINT);
  return make(
    'failed',
    `${what}: ${step} failed at ${where}: ${why}${e.codeName ? ` (${e.codeName})` : ''}`,
    "check the server's log (docker logs on the mongodb container) for the reason",
  );
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)) || 'no reason given';
}

/** A BSON number (int, double, or a Long the driver did not promote) as a number; null otherwise. */
function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function')
    return (v as { toNumber(): number }).toNumber();
  return null;
}
