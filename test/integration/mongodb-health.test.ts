import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cliOk } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { MongoStandIn, replicaSet } from '../helpers/mongodb-standin.js';
import { containerOf, freePort, type TestStack, upStack, waitFor } from '../helpers/stack.js';

/**
 * stack_health's MongoDB deep check (`deepCheck: { mongodb: true }`) on a real Compose stack: the
 * mongodb service is a real container, the server behind mongodb.uri is the wire-protocol stand-in
 * (no mongod can be installed here) that the real driver talks to.
 */
let stack: TestStack;
const mongo = new MongoStandIn();
const deepCheck = { mongodb: true as const, timeout: 5000 };
const services: Config['services'] = {
  mongodb: { critical: true, startPeriod: 1000, optional: false, dependsOn: [], deepCheck },
};

interface Health {
  verdict: string;
  services: Array<{
    service: string;
    ok: boolean;
    status: string;
    problems: string[];
    deepCheck: {
      kind: string;
      ok: boolean;
      detail: string;
      mongodb?: {
        version: string;
        connections: { current: number; available: number; totalCreated: number };
        memMiB: { resident: number; virtual: number };
        replicaSet: { set: string; primary: string | null } | null;
      };
    } | null;
  }>;
}

beforeAll(async () => {
  await mongo.start();
  stack = await upStack({ services: ['mongodb'] });
  await waitFor(
    'mongodb healthy',
    async () => (await containerOf(stack.project, 'mongodb')).State.Health?.Status === 'healthy',
  );
});

afterAll(async () => {
  await stack?.down();
  await mongo.stop();
});

beforeEach(() => {
  mongo.commands.length = 0;
  mongo.replicaSet = null;
});

const health = (mongodb: Partial<Config['mongodb']>) =>
  invokeTool(
    findTool('stack_health')!,
    testContext(stack.project, undefined, {
      services,
      mongodb: { replicaSet: false, timeout: 5000, ...mongodb },
    }),
    { deep: true },
  ) as Promise<Health>;
const mongoOf = (h: Health) => h.services.find((s) => s.service === 'mongodb')!;

describe('stack_health with deepCheck { mongodb: true }', () => {
  it('`health --json` reports connections and memory from serverStatus (mongodb.uri from DOOM_OPS_MONGODB_URI)', async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'doomcfg-')), 'config.yaml');
    writeFileSync(
      cfg,
      'services:\n  mongodb: { critical: true, startPeriod: 1s, deepCheck: { mongodb: true } }\n',
    );
    const r = await cliOk(['health', '--json', '--project', stack.project], {
      DOOM_OPS_CONFIG: cfg,
      DOOM_OPS_MONGODB_URI: mongo.uri,
    });
    const h = r.json<Health>();
    expect(r.exitCode).toBe(0);
    expect(h.verdict).toBe('healthy');
    expect(mongoOf(h)).toMatchObject({
      ok: true,
      deepCheck: {
        kind: 'mongodb',
        ok: true,
        detail: 'ping ok; MongoDB 7.0.12; connections: 3 current, 838857 available; memory: 92 MiB resident',
        mongodb: {
          version: '7.0.12',
          connections: { current: 3, available: 838857, totalCreated: 41 },
          memMiB: { resident: 92, virtual: 2650 },
          replicaSet: null,
        },
      },
    });
    // Asked of the server, not made up: serverStatus arrived after a ping.
    const names = mongo.commands.map((c) => c.name);
    expect(names).toContain('ping');
    expect(names.indexOf('serverStatus')).toBeGreaterThan(names.indexOf('ping'));
  });

  it('a changed answer shows: the connections are read on every check', async () => {
    mongo.serverStatus = {
      ...mongo.serverStatus,
      connections: { current: 57, available: 838803, totalCreated: 90 },
    };
    try {
      const d = mongoOf(await health({ uri: mongo.uri })).deepCheck;
      expect(d?.mongodb?.connections).toEqual({ current: 57, available: 838803, totalCreated: 90 });
      expect(d?.detail).toMatch(/connections: 57 current, 838803 available/);
    } finally {
      mongo.serverStatus = {
        ...mongo.serverStatus,
        connections: { current: 3, available: 838857, totalCreated: 41 },
      };
    }
  });

  it('mongodb.replicaSet: a set with no PRIMARY member makes the service fail with that reason', async () => {
    mongo.replicaSet = replicaSet('rs0', 'SECONDARY', 'SECONDARY');
    const h = await health({ uri: mongo.uri, replicaSet: true });
    const s = mongoOf(h);
    expect(s.ok).toBe(false);
    expect(h.verdict).not.toBe('healthy');
    expect(s.problems.join('\n')).toMatch(/deep check failed: .*replica set rs0 has no PRIMARY member/);
    expect(s.deepCheck?.mongodb?.replicaSet).toMatchObject({ set: 'rs0', primary: null });
  });

  it('a server that cannot be reached fails the check with the reason; the password of mongodb.uri is never shown', async () => {
    const port = await freePort();
    const h = await health({
      uri: `mongodb://doomops:health-pw-91@127.0.0.1:${port}/?authSource=admin`,
      timeout: 500,
    });
    const s = mongoOf(h);
    expect(s.ok).toBe(false);
    expect(s.deepCheck?.detail).toMatch(
      /cannot reach MongoDB at mongodb:\/\/doomops:\*\*\*@127\.0\.0\.1:\d+.* within 500 ms/,
    );
    expect(JSON.stringify(h)).not.toContain('health-pw-91');
  });
});
