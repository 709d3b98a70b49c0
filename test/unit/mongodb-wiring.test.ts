import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compareCounts, scratchUri } from '../../src/backup/drill.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ToolError } from '../../src/errors.js';
import type { ToolContext } from '../../src/tools/context.js';
import { runDeepCheck } from '../../src/tools/lib/deep-check.js';
import { fsyncThroughDriver } from '../../src/tools/lib/mongo-fsync.js';
import { projectSecrets } from '../../src/tools/lib/secrets.js';
import { MongoStandIn, replicaSet } from '../helpers/mongodb-standin.js';
import { freePort } from '../helpers/stack.js';

/** The config, secrets, deep check, shutdown fsync and drill comparison around the MongoDB driver. */

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'doomcfg-')), 'c.yaml');
  writeFileSync(path, text);
  return path;
}
const load = (text: string, env: Record<string, string> = {}) =>
  loadConfig({ env: { DOOM_OPS_CONFIG: file(text), ...env } });

/** A tool context on an empty stack (no engine needed): what these functions read of it. */
function ctx(mongodb: Partial<Config['mongodb']>): ToolContext {
  const config = loadConfig({ env: {} });
  return {
    docker: { listStack: async () => [], inspect: async () => ({ secretValues: [] }) },
    project: 'p',
    config: { ...config, mongodb: { ...config.mongodb, ...mongodb } },
    signal: new AbortController().signal,
  } as unknown as ToolContext;
}

describe('config', () => {
  it('defaults: no mongodb.uri, no replica set, 5s; the drill reaches the scratch mongod at {ip}:27017', () => {
    const c = loadConfig({ env: {} });
    expect(c.mongodb).toEqual({ replicaSet: false, timeout: 5000 });
    expect(c.backup.drill).toEqual({ mongodbUri: 'mongodb://{ip}:27017' });
  });

  it('mongodb.uri from the file, DOOM_OPS_MONGODB_URI over it; only mongodb:// or mongodb+srv://', () => {
    const text = 'mongodb: { uri: "mongodb://127.0.0.1:27017", replicaSet: true, timeout: 2s }\n';
    expect(load(text).mongodb).toEqual({ uri: 'mongodb://127.0.0.1:27017', replicaSet: true, timeout: 2000 });
    expect(load(text, { DOOM_OPS_MONGODB_URI: 'mongodb+srv://c.example.net' }).mongodb.uri).toBe(
      'mongodb+srv://c.example.net',
    );
    expect(() => load('mongodb: { uri: "http://127.0.0.1:27017" }\n')).toThrow(
      /mongodb\.uri: must be a mongodb:\/\/ or mongodb\+srv:\/\/ URI/,
    );
  });

  it('deepCheck { mongodb: true } is a fourth kind, exactly one per check', () => {
    const c = load(
      'services:\n  mongodb: { critical: true, startPeriod: 20s, deepCheck: { mongodb: true } }\n',
    );
    expect(c.services.mongodb?.deepCheck).toEqual({ mongodb: true, timeout: 5000 });
    expect(() =>
      load('services:\n  mongodb: { deepCheck: { mongodb: true, http: "http://127.0.0.1:1" } }\n'),
    ).toThrow(/give exactly one of http, exec, ollama or mongodb/);
    expect(() => load('services:\n  mongodb: { deepCheck: { mongodb: false } }\n')).toThrow(
      /services\.mongodb\.deepCheck/,
    );
  });

  it('the password of mongodb.uri and of backup.drill.mongodbUri is a project secret, as written and decoded', async () => {
    const c = ctx({ uri: 'mongodb://doomops:pw%2Fone-77@127.0.0.1:27017/?authSource=admin' });
    c.config.backup = { ...c.config.backup, drill: { mongodbUri: 'mongodb://drill:drill-pw-88@{ip}:27017' } };
    const secrets = await projectSecrets(c);
    expect(secrets).toEqual(expect.arrayContaining(['pw%2Fone-77', 'pw/one-77', 'drill-pw-88']));
  });
});

describe('through the driver (the MongoDB stand-in)', () => {
  const mongo = new MongoStandIn();
  beforeAll(() => mongo.start());
  afterAll(() => mongo.stop());
  beforeEach(() => {
    mongo.commands.length = 0;
    mongo.replicaSet = null;
  });

  it('deep check: ping, serverStatus and the replica set in the detail and as structured fields', async () => {
    mongo.replicaSet = replicaSet('rs0', 'PRIMARY', 'SECONDARY', 'SECONDARY');
    const r = await runDeepCheck(
      ctx({ uri: mongo.uri, replicaSet: true }),
      { mongodb: true, timeout: 3000 },
      undefined,
      [],
    );
    expect(r).toMatchObject({
      kind: 'mongodb',
      ok: true,
      detail:
        'ping ok; MongoDB 7.0.12; connections: 3 current, 838857 available; memory: 92 MiB resident; replica set rs0: primary m1:27017, 3 member(s)',
      mongodb: {
        connections: { current: 3, available: 838857, totalCreated: 41 },
        memMiB: { resident: 92, virtual: 2650 },
        replicaSet: { set: 'rs0', primary: 'm1:27017' },
      },
    });
  });

  it('deep check: a replica set with no PRIMARY fails, saying so; the status is still reported', async () => {
    mongo.replicaSet = replicaSet('rs0', 'SECONDARY', '(not reachable/healthy)');
    const r = await runDeepCheck(
      ctx({ uri: mongo.uri, replicaSet: true }),
      { mongodb: true, timeout: 3000 },
      undefined,
      [],
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(
      /; replica set rs0 has no PRIMARY member \(m1:27017 SECONDARY, m2:27017 \(not reachable\/healthy\)\)$/,
    );
    expect(r.mongodb?.replicaSet?.primary).toBeNull();
  });

  it('deep check: without mongodb.uri it fails naming the key; an unreachable server fails with the reason, password masked', async () => {
    const none = await runDeepCheck(ctx({}), { mongodb: true, timeout: 1000 }, undefined, []);
    expect(none).toMatchObject({
      kind: 'mongodb',
      ok: false,
      detail: expect.stringMatching(/needs mongodb\.uri/),
    });
    const port = await freePort();
    const uri = `mongodb://doomops:deep-pw-42@127.0.0.1:${port}`;
    const down = await runDeepCheck(
      ctx({ uri, timeout: 300 }),
      { mongodb: true, timeout: 1000 },
      undefined,
      [],
    );
    expect(down.ok).toBe(false);
    expect(down.detail).toMatch(
      /cannot reach MongoDB at mongodb:\/\/doomops:\*\*\*@127\.0\.0\.1:\d+ within 300 ms/,
    );
    expect(JSON.stringify(down)).not.toContain('deep-pw-42');
    expect(down.mongodb).toBeUndefined();
  });

  it('deep check: with mongodb.timeout equal to the check timeout (both default to 5s), a refused port is unreachable, not slow', async () => {
    const port = await freePort();
    const r = await runDeepCheck(
      ctx({ uri: `mongodb://127.0.0.1:${port}`, timeout: 1500 }),
      { mongodb: true, timeout: 1500 },
      undefined,
      [],
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/cannot reach MongoDB at mongodb:\/\/127\.0\.0\.1:\d+ within 1200 ms/);
    expect(r.detail).toMatch(/ECONNREFUSED/);
    expect(r.detail).not.toMatch(/no answer in time/);
  });

  it('fsyncThroughDriver: fsync reaches the server, one line back; no mongodb.uri is a config error', async () => {
    expect(await fsyncThroughDriver(ctx({ uri: mongo.uri }))).toBe(
      `fsync through the driver at ${mongo.uri}: ok (1 file(s))`,
    );
    expect(mongo.received('fsync')).toHaveLength(1);
    await expect(fsyncThroughDriver(ctx({}))).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/needs mongodb\.uri/),
    });
    const port = await freePort();
    const err = await fsyncThroughDriver(
      ctx({ uri: `mongodb://doomops:fsync-pw-43@127.0.0.1:${port}`, timeout: 300 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).code).toBe('upstream_unavailable');
    expect(JSON.stringify(err)).not.toContain('fsync-pw-43');
  });
});

describe('restore drill: reaching the scratch mongod and comparing counts', () => {
  it('scratchUri: the live credentials and auth options when the template has none; one server, directly', () => {
    const live = 'mongodb://root:p%40ss@localhost:27017/?authSource=admin&replicaSet=rs0&appName=x';
    expect(scratchUri('mongodb://172.18.0.2:27017', live)).toBe(
      'mongodb://root:p%40ss@172.18.0.2:27017/?authSource=admin&directConnection=true',
    );
    expect(scratchUri('mongodb://drill:pw@172.18.0.2:27017/?replicaSet=rs0', live)).toBe(
      'mongodb://drill:pw@172.18.0.2:27017/?directConnection=true',
    );
    expect(scratchUri('mongodb://127.0.0.1:27017', 'mongodb://localhost:27017')).toBe(
      'mongodb://127.0.0.1:27017/?directConnection=true',
    );
  });

  it('compareCounts names each collection that differs or is missing; system data is not compared', () => {
    const recorded = {
      'clau-doom.episodes': 2,
      'clau-doom.agents': 4,
      'clau-doom.runs': 1,
      'admin.system.version': 1,
      'clau-doom.system.buckets.m': 9,
    };
    expect(compareCounts(recorded, { 'clau-doom.episodes': 2, 'clau-doom.agents': 3, 'x.extra': 5 })).toEqual(
      {
        differ: [
          'clau-doom.agents: 3 restored, 4 recorded',
          'clau-doom.runs: missing after the restore (1 recorded)',
        ],
        checked: ['clau-doom.episodes: 2'],
      },
    );
  });
});
