import { createRequire } from 'node:module';

/**
 * A MongoDB server stand-in for the real `mongodb` driver: `mongodb-mock-server` (2.0.1) speaks
 * the wire protocol on 127.0.0.1 and this class answers the commands doom-ops sends, as mongod
 * answers them: the handshake (hello / isMaster), ping, serverStatus, replSetGetStatus, fsync,
 * listDatabases, listCollections, aggregate (what countDocuments sends) and count, endSessions;
 * saslStart fails as a server refusing the credentials does, and any other command as an unknown
 * one. Every command received is recorded (`commands`), so a test can assert that fsync arrived.
 *
 * The mock server marks its handshake answer `__nodejs_mock_server__`, and the driver then frames
 * its commands as OP_QUERY instead of OP_MSG (the mock parses no OP_MSG): the command documents
 * are the driver's own, their framing is not what a real mongod receives.
 */

interface MockRequest {
  document: Record<string, unknown>;
  response: { ns?: string };
  reply(doc: Record<string, unknown>): void;
}
interface MockServer {
  port: number;
  setMessageHandler(handler: (req: MockRequest) => void): void;
  destroy(): Promise<void>;
}
const require = createRequire(import.meta.url);
const mock = require('mongodb-mock-server') as {
  createServer(port: number, host: string): Promise<MockServer>;
  DEFAULT_ISMASTER_36: Record<string, unknown>;
};
/** The BSON library the mock server serializes with: a cursor id must be an int64, as mongod sends it. */
const { Long } = createRequire(require.resolve('mongodb-mock-server'))('bson') as {
  Long: { ZERO: unknown };
};

export interface ReceivedCommand {
  /** The command's name (its first key), e.g. "fsync". */
  name: string;
  /** The database it was sent to. */
  db: string;
  document: Record<string, unknown>;
}

export interface ReplicaSetMember {
  name: string;
  stateStr: string;
  health: number;
}

/**
 * A replica set for `MongoStandIn.replicaSet`: members m1:27017, m2:27017, … in these states
 * (stateStr); a member "(not reachable/healthy)" has health 0, the others 1.
 */
export function replicaSet(set: string, ...states: string[]): { set: string; members: ReplicaSetMember[] } {
  return {
    set,
    members: states.map((stateStr, i) => ({
      name: `m${i + 1}:27017`,
      stateStr,
      health: stateStr === '(not reachable/healthy)' ? 0 : 1,
    })),
  };
}

/** The part of MongoDB 7's serverStatus answer that doom-ops reads. */
export interface StandInServerStatus {
  version: string;
  connections: { current: number; available: number; totalCreated: number };
  mem: { resident: number; virtual: number };
}

export class MongoStandIn {
  readonly commands: ReceivedCommand[] = [];
  /** "db.collection" -> documents: what listDatabases, listCollections and the counts answer. */
  counts: Record<string, number> = {};
  serverStatus: StandInServerStatus = {
    version: '7.0.12',
    connections: { current: 3, available: 838857, totalCreated: 41 },
    mem: { resident: 92, virtual: 2650 },
  };
  /** null: a standalone mongod (replSetGetStatus fails with NoReplicationEnabled). */
  replicaSet: { set: string; members: ReplicaSetMember[] } | null = null;
  /** Commands received (and recorded) but never answered: a server stuck in them. */
  readonly stall = new Set<string>();
  private server: MockServer | undefined;

  get port(): number {
    if (!this.server) throw new Error('the MongoDB stand-in is not started');
    return this.server.port;
  }

  /** mongodb://127.0.0.1:<port> (directConnection: it is one server, whatever it says). */
  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/?directConnection=true`;
  }

  /** The commands received with this name, oldest first. */
  received(name: string): ReceivedCommand[] {
    return this.commands.filter((c) => c.name === name);
  }

  async start(): Promise<void> {
    this.server = await mock.createServer(0, '127.0.0.1');
    this.server.setMessageHandler((req) => {
      const raw = req.document;
      // OP_QUERY commands may be wrapped with their read preference.
      const doc = (raw.$query ?? raw) as Record<string, unknown>;
      const name = Object.keys(doc)[0] ?? '';
      const db = (req.response.ns ?? 'admin.$cmd').replace(/\.\$cmd$/, '');
      this.commands.push({ name, db, document: doc });
      if (this.stall.has(name)) return;
      req.reply(this.answer(name, db, doc));
    });
  }

  async stop(): Promise<void> {
    await this.server?.destroy();
    this.server = undefined;
  }

  private databases(): string[] {
    return [...new Set(Object.keys(this.counts).map((k) => k.slice(0, k.indexOf('.'))))];
  }

  private answer(name: string, db: string, doc: Record<string, unknown>): Record<string, unknown> {
    const ok = (extra: Record<string, unknown> = {}) => ({ ...extra, ok: 1 });
    const error = (code: number, codeName: string, errmsg: string) => ({ ok: 0, code, codeName, errmsg });
    const cursor = (ns: string, firstBatch: unknown[]) => ok({ cursor: { id: Long.ZERO, ns, firstBatch } });
    switch (name) {
      case 'hello':
      case 'ismaster':
      case 'isMaster':
        return { ...mock.DEFAULT_ISMASTER_36, maxWireVersion: 21, localTime: new Date() };
      case 'ping':
      case 'endSessions':
        return ok();
      case 'saslStart':
      case 'saslContinue':
      case 'authenticate':
        return error(18, 'AuthenticationFailed', 'Authentication failed.');
      case 'serverStatus':
        return ok({ host: 'standin:27017', process: 'mongod', uptime: 60, ...this.serverStatus });
      case 'replSetGetStatus':
        return this.replicaSet
          ? ok({ set: this.replicaSet.set, myState: 1, members: this.replicaSet.members })
          : error(76, 'NoReplicationEnabled', 'not running with --replSet');
      case 'fsync':
        return ok({ numFiles: 1 });
      case 'listDatabases':
        return ok({
          databases: ['admin', 'config', 'local', ...this.databases()].map((n) => ({
            name: n,
            sizeOnDisk: 8192,
            empty: false,
          })),
          totalSize: 8192,
        });
      case 'listCollections': {
        const filter = (doc.filter ?? {}) as { type?: string };
        const names = Object.keys(this.counts)
          .filter((k) => k.startsWith(`${db}.`))
          .map((k) => k.slice(db.length + 1));
        // A view is listed too (as mongod lists one), unless the filter asks for collections only.
        const all = [
          ...names.map((n) => ({ name: n, type: 'collection' })),
          ...(names.length ? [{ name: 'episode_view', type: 'view' }] : []),
        ];
        return cursor(
          `${db}.$cmd.listCollections`,
          all.filter((c) => !filter.type || c.type === filter.type),
        );
      }
      case 'count':
        return ok({ n: this.counts[`${db}.${String(doc.count)}`] ?? 0 });
      case 'aggregate': {
        // Only the pipeline countDocuments({}) sends: $match {}, then $group { _id: 1, n: { $sum: 1 } }.
        const coll = String(doc.aggregate);
        const [match, group, ...rest] = (doc.pipeline ?? []) as unknown[];
        if (
          rest.length ||
          JSON.stringify(match) !== '{"$match":{}}' ||
          JSON.stringify(group) !== '{"$group":{"_id":1,"n":{"$sum":1}}}'
        )
          return error(
            2,
            'BadValue',
            `the stand-in answers only countDocuments({}), not ${JSON.stringify(doc.pipeline)}`,
          );
        const n = this.counts[`${db}.${coll}`] ?? 0;
        return cursor(`${db}.${coll}`, n ? [{ _id: 1, n }] : []);
      }
      default:
        return error(59, 'CommandNotFound', `no such command: '${name}'`);
    }
  }
}
