import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countPerCollection,
  mongoFsync,
  mongoStatus,
  redactMongoUri,
} from '../../src/adapters/mongodb/client.js';
import { ToolError } from '../../src/errors.js';
import { deadline } from '../../src/util/deadline.js';
import { MongoStandIn, replicaSet } from '../helpers/mongodb-standin.js';
import { freePort } from '../helpers/stack.js';

/** The real `mongodb` driver against the wire-protocol stand-in (test/helpers/mongodb-standin.ts). */
const mongo = new MongoStandIn();
const opts = { timeoutMs: 2000 };

beforeAll(() => mongo.start());
afterAll(() => mongo.stop());
beforeEach(() => {
  mongo.commands.length = 0;
  mongo.replicaSet = null;
  mongo.stall.clear();
});

/** The ToolError a promise rejects with (the test fails when it resolves or rejects with anything else). */
async function failure(p: Promise<unknown>): Promise<ToolError> {
  const err = await p.then(
    () => new Error('resolved, expected a ToolError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}

/** Everything a user could be shown of an error. */
const shown = (e: ToolError) => `${e.message}\n${e.hint ?? ''}\n${JSON.stringify(e)}`;

describe('mongoStatus', () => {
  it('pings, then reads version, connections and memory from serverStatus; no replica set unless asked', async () => {
    const s = await mongoStatus(mongo.uri, { ...opts, replicaSet: false });
    expect(s).toEqual({
      version: '7.0.12',
      connections: { current: 3, available: 838857, totalCreated: 41 },
      memMiB: { resident: 92, virtual: 2650 },
      replicaSet: null,
    });
    const names = mongo.commands.map((c) => c.name);
    expect(names.indexOf('ping')).toBeGreaterThan(-1);
    expect(names.indexOf('serverStatus')).toBeGreaterThan(names.indexOf('ping'));
    expect(names).not.toContain('replSetGetStatus');
    expect(mongo.received('serverStatus')[0]?.db).toBe('admin');
  });

  it('reads the replica set with replSetGetStatus when asked: its primary and members', async () => {
    mongo.replicaSet = replicaSet('rs0', 'PRIMARY', 'SECONDARY', '(not reachable/healthy)');
    const s = await mongoStatus(mongo.uri, { ...opts, replicaSet: true });
    expect(s.replicaSet).toEqual({
      set: 'rs0',
      primary: 'm1:27017',
      members: [
        { name: 'm1:27017', state: 'PRIMARY', health: 1 },
        { name: 'm2:27017', state: 'SECONDARY', health: 1 },
        { name: 'm3:27017', state: '(not reachable/healthy)', health: 0 },
      ],
    });
    expect(mongo.received('replSetGetStatus')).toHaveLength(1);
  });

  it('a replica set without a PRIMARY member has primary null', async () => {
    mongo.replicaSet = replicaSet('rs0', 'SECONDARY', 'SECONDARY');
    const s = await mongoStatus(mongo.uri, { ...opts, replicaSet: true });
    expect(s.replicaSet).toMatchObject({ set: 'rs0', primary: null });
  });

  it('asked for a replica set on a standalone mongod: a failure that says so', async () => {
    const e = await failure(mongoStatus(mongo.uri, { ...opts, replicaSet: true }));
    expect(e.code).toBe('failed');
    expect(e.message).toMatch(/replSetGetStatus at mongodb:\/\/127\.0\.0\.1:\d+.*not a replica set member/);
    expect(e.hint).toMatch(/mongodb\.replicaSet/);
  });
});

describe('mongoFsync', () => {
  it('sends { fsync: 1 } to admin and returns numFiles', async () => {
    expect(await mongoFsync(mongo.uri, opts)).toEqual({ numFiles: 1 });
    expect(mongo.received('fsync')).toEqual([
      expect.objectContaining({ db: 'admin', document: expect.objectContaining({ fsync: 1 }) }),
    ]);
  });

  it('a server that does not answer: timeout at the deadline, cancelled on abort', async () => {
    mongo.stall.add('fsync');
    const t = await failure(
      mongoFsync(mongo.uri, { ...opts, signal: deadline(new AbortController().signal, 300) }),
    );
    expect(t.code).toBe('timeout');
    expect(t.message).toMatch(/^MongoDB fsync at mongodb:\/\/127\.0\.0\.1:\d+.*: no answer in time/);
    const abort = new AbortController();
    const p = mongoFsync(mongo.uri, { ...opts, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    expect((await failure(p)).code).toBe('cancelled');
  });

  it('a server stuck even in endSessions (sent on close) holds the call at most timeoutMs past its deadline', async () => {
    mongo.stall.add('fsync');
    mongo.stall.add('endSessions');
    const started = Date.now();
    const e = await failure(
      mongoFsync(mongo.uri, { timeoutMs: 500, signal: deadline(new AbortController().signal, 300) }),
    );
    expect(e.code).toBe('timeout');
    expect(mongo.received('endSessions')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('countPerCollection', () => {
  it('counts every collection of every database but admin, local and config, with countDocuments', async () => {
    mongo.counts = { 'clau-doom.episodes': 2, 'clau-doom.agents': 0, 'research.runs': 5 };
    expect(await countPerCollection(mongo.uri, opts)).toEqual({
      'clau-doom.agents': 0,
      'clau-doom.episodes': 2,
      'research.runs': 5,
    });
    // Collections only (the view is left out), never the system databases; one countDocuments each.
    expect(mongo.received('listCollections').map((c) => [c.db, c.document.filter])).toEqual([
      ['clau-doom', { type: 'collection' }],
      ['research', { type: 'collection' }],
    ]);
    expect(
      mongo
        .received('aggregate')
        .map((c) => `${c.db}.${String(c.document.aggregate)}`)
        .sort(),
    ).toEqual(['clau-doom.agents', 'clau-doom.episodes', 'research.runs']);
  });
});

describe('errors', () => {
  it('an unreachable server: upstream_unavailable naming the URI, the timeout and the reason', async () => {
    const port = await freePort();
    const e = await failure(
      mongoStatus(`mongodb://127.0.0.1:${port}`, { timeoutMs: 300, replicaSet: false }),
    );
    expect(e.code).toBe('upstream_unavailable');
    expect(e.message).toMatch(
      new RegExp(
        `^MongoDB status: cannot reach MongoDB at mongodb://127\\.0\\.0\\.1:${port} within 300 ms .*ECONNREFUSED`,
      ),
    );
    expect(e.hint).toMatch(/mongod runs and listens there/);
  });

  it('a password in the URI is never shown: not reachable, credentials refused, not a URI', async () => {
    const port = await freePort();
    const pw = 'S3cr@t/pw';
    const enc = encodeURIComponent(pw);
    const cases = [
      mongoFsync(`mongodb://doomops:${enc}@127.0.0.1:${port}/?authSource=admin`, { timeoutMs: 300 }),
      // The stand-in refuses every credential, as a server does a wrong password.
      mongoStatus(`mongodb://doomops:${enc}@127.0.0.1:${mongo.port}/?directConnection=true`, {
        ...opts,
        replicaSet: false,
      }),
      countPerCollection(`mongodb://doomops:${enc}@127.0.0.1:99999`, opts),
      countPerCollection(`mongodb://doomops:${pw}@127.0.0.1:${mongo.port}`, opts),
    ];
    const errors = await Promise.all(cases.map(failure));
    expect(errors.map((e) => e.code)).toEqual([
      'upstream_unavailable',
      'failed',
      'config_invalid',
      'config_invalid',
    ]);
    expect(errors[1]!.message).toMatch(/refused the credentials/);
    // The driver would read "t" (after the unencoded "@") as the host: refused before it connects.
    expect(errors[3]!.message).toMatch(/its password holds a character that must be percent-encoded/);
    for (const e of errors) {
      const text = shown(e);
      for (const form of [pw, enc, 'S3cr', encodeURIComponent(enc)]) expect(text).not.toContain(form);
      expect(text).toContain('doomops:***@127.0.0.1');
    }
  });

  it('redactMongoUri masks the password only', () => {
    expect(redactMongoUri('mongodb://u:p%40ss@h1:27017,h2:27017/db?authSource=admin')).toBe(
      'mongodb://u:***@h1:27017,h2:27017/db?authSource=admin',
    );
    expect(redactMongoUri('mongodb+srv://u:a@b/c@cluster0.example.net/')).toBe(
      'mongodb+srv://u:***@cluster0.example.net/',
    );
    expect(redactMongoUri('mongodb://mongodb:27017')).toBe('mongodb://mongodb:27017');
    expect(redactMongoUri('mongodb://user@h:27017')).toBe('mongodb://user@h:27017');
  });
});
