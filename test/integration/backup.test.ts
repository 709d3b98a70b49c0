import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableRowCounts } from '../../src/adapters/duckdb/tables.js';
import type { Config } from '../../src/config/schema.js';
import type { Approver } from '../../src/safety/approver.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cli } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { OpenSearchStandIn } from '../helpers/opensearch-standin.js';
import { containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

const backupDir = mkdtempSync(join(tmpdir(), 'doombackup-'));
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));
const os = new OpenSearchStandIn();
let stack: TestStack;
let config: Partial<Config>;

const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
const ctx = (approver?: Approver): ToolContext => ({
  ...testContext(stack.project, undefined, config, { stateDir }),
  ...(approver ? { approver } : {}),
});
const call = <T>(name: string, input: Record<string, unknown>, approver?: Approver) =>
  invokeTool(findTool(name)!, ctx(approver), input) as Promise<T>;

async function sh(service: string, script: string): Promise<string> {
  const c = await containerOf(stack.project, service);
  const r = await execa('docker', ['exec', c.Id, 'sh', '-c', script]);
  return r.stdout;
}
/** Every file of the volume with its checksum and mode: byte-for-byte comparison. */
const volumeState = () =>
  sh(
    'nats',
    'cd /data && find . -type f | sort | xargs sha256sum && find . | sort | xargs stat -c "%n %a %s"',
  );
const mongoState = () => sh('mongodb', 'cd /data/db && find . -type f | sort | xargs cat');

async function playLog(rows: number): Promise<Buffer> {
  const file = join(mkdtempSync(join(tmpdir(), 'duck-')), 'play_logs.duckdb');
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  await c.run(`create table episodes as select range as id, range * 2 as score from range(${rows})`);
  await c.run('create table strategies as select 1 as id');
  c.closeSync();
  db.closeSync();
  return readFile(file);
}
async function putPlayLog(rows: number): Promise<void> {
  const agent = await containerOf(stack.project, 'agent');
  const dir = mkdtempSync(join(tmpdir(), 'duckput-'));
  await writeFile(join(dir, 'play_logs.duckdb'), await playLog(rows));
  await execa('docker', ['cp', join(dir, 'play_logs.duckdb'), `${agent.Id}:/data/play_logs.duckdb`]);
}
async function agentRows(): Promise<Record<string, number>> {
  const agent = await containerOf(stack.project, 'agent');
  const dir = mkdtempSync(join(tmpdir(), 'duckget-'));
  await execa('docker', ['cp', `${agent.Id}:/data/play_logs.duckdb`, join(dir, 'x.duckdb')]);
  return tableRowCounts(join(dir, 'x.duckdb'));
}

interface Backup {
  id: string;
  components: Array<{
    component: string;
    target: string;
    file: string | null;
    bytes: number;
    sha256: string | null;
  }>;
  verified: boolean;
}

let full: Backup;
let original: { volume: string; mongo: string };

beforeAll(async () => {
  await os.start();
  os.indices.set('episodes-2026.11', { status: 'open', docs: 1200 });
  os.indices.set('strategies', { status: 'open', docs: 40 });
  stack = await upStack({ services: ['nats', 'mongodb', 'agent'] });
  const base = testContext(stack.project).config;
  config = {
    backup: {
      ...base.backup,
      dir: backupDir,
      volumes: ['nats-data'],
      opensearch: { ...base.backup.opensearch, url: os.url },
      duckdb: { ...base.backup.duckdb, file: '/data/play_logs.duckdb' },
    },
  };
  await waitFor('agent running', async () => (await containerOf(stack.project, 'agent')).State.Running);
  await sh(
    'nats',
    'mkdir -p /data/jetstream/sub && head -c 300000 /dev/urandom > /data/jetstream/stream.dat && echo hello > /data/jetstream/sub/meta && chmod 640 /data/jetstream/sub/meta',
  );
  await sh(
    'mongodb',
    'mkdir -p /data/db/clau-doom && printf "{\\"_id\\":1}\\n{\\"_id\\":2}\\n{\\"_id\\":3}\\n" > /data/db/clau-doom/episodes.jsonl && echo "{\\"k\\":1}" > /data/db/clau-doom/strategies.jsonl',
  );
  await putPlayLog(100);
  original = { volume: await volumeState(), mongo: await mongoState() };
  full = await call<Backup>('backup', { component: 'full' });
});

afterAll(async () => {
  await stack?.down();
  await os.stop();
  await rm(backupDir, { recursive: true, force: true });
});

describe('backup full', () => {
  it('writes every component, verified, with a manifest of files, sizes and sha256', async () => {
    expect(full.verified).toBe(true);
    expect(full.components.map((c) => c.component).sort()).toEqual([
      'duckdb',
      'mongodb',
      'opensearch',
      'volumes',
    ]);
    const manifest = JSON.parse(
      await readFile(join(backupDir, stack.project, full.id, 'MANIFEST.json'), 'utf8'),
    );
    expect(manifest).toMatchObject({
      id: full.id,
      stack: stack.project,
      kind: 'full',
      tool: { name: 'doom-ops' },
    });
    const mongo = manifest.components.find((c: { component: string }) => c.component === 'mongodb');
    expect(mongo.details.collections).toEqual({ 'clau-doom.episodes': 3, 'clau-doom.strategies': 1 });
    const duck = manifest.components.find((c: { component: string }) => c.component === 'duckdb');
    expect(duck.details).toMatchObject({ checkpoint: 'ok', tables: { episodes: 100, strategies: 1 } });
    expect(await sh('agent', 'cat /tmp/duckdb-calls')).toContain('/data/play_logs.duckdb -c CHECKPOINT;');
    const snap = manifest.components.find((c: { component: string }) => c.component === 'opensearch');
    expect(snap.details.indices.sort()).toEqual(['episodes-2026.11', 'strategies']);
    expect(os.repos.get('backup')).toMatchObject({ type: 'fs' });
    for (const c of full.components.filter((x) => x.file)) expect(c.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(
      JSON.parse(await readFile(join(backupDir, stack.project, full.id, 'VERIFICATION.json'), 'utf8')).ok,
    ).toBe(true);
  });
});

describe('restore', () => {
  it('without a human approval executes nothing', async () => {
    await sh('mongodb', 'echo "{\\"_id\\":99}" >> /data/db/clau-doom/episodes.jsonl');
    const before = (await call<{ backups: unknown[] }>('list_backups', {})).backups.length;
    await expect(call('restore', { id: full.id, component: 'mongodb' })).rejects.toMatchObject({
      code: 'approval_required',
    });
    expect(await mongoState()).not.toBe(original.mongo);
    expect((await call<{ backups: unknown[] }>('list_backups', {})).backups.length).toBe(before);
  });

  it('round trips each component after the data changed, writing a safety backup first', async () => {
    // Change everything.
    await sh(
      'nats',
      'rm /data/jetstream/sub/meta && echo changed > /data/jetstream/stream.dat && echo new > /data/jetstream/new',
    );
    await putPlayLog(7);
    os.indices.get('strategies')!.docs = 0;
    expect(await volumeState()).not.toBe(original.volume);

    const mongo = await call<{ safetyBackup: string }>(
      'restore',
      { id: full.id, component: 'mongodb' },
      approveAll,
    );
    expect(await mongoState()).toBe(original.mongo);

    const vol = await call<{ restored: Array<{ result: { stopped: string[] } }> }>(
      'restore',
      { id: full.id, component: 'volumes' },
      approveAll,
    );
    expect(vol.restored[0]?.result.stopped).toHaveLength(1);
    await waitFor('nats running again', async () => (await containerOf(stack.project, 'nats')).State.Running);
    expect(await volumeState()).toBe(original.volume);

    await call('restore', { id: full.id, component: 'duckdb' }, approveAll);
    await waitFor(
      'agent running again',
      async () => (await containerOf(stack.project, 'agent')).State.Running,
    );
    expect(await agentRows()).toEqual({ episodes: 100, strategies: 1 });

    os.calls.length = 0;
    await call('restore', { id: full.id, component: 'opensearch' }, approveAll);
    const restore = os.calls.find((c) => c.path.endsWith('/_restore'));
    expect(
      String((restore?.body as { indices?: string } | undefined)?.indices)
        .split(',')
        .sort(),
    ).toEqual(['episodes-2026.11', 'strategies']);
    expect(os.calls.some((c) => c.path.endsWith('/_close'))).toBe(true);
    expect(os.indices.get('strategies')?.docs).toBe(40);

    const list = await call<{ backups: Array<{ id: string; reason: string | null; state: string }> }>(
      'list_backups',
      {},
    );
    expect(list.backups.filter((b) => b.reason === 'pre-restore')).toHaveLength(4);
    expect(list.backups.find((b) => b.id === mongo.safetyBackup)?.state).toBe('complete');
  });

  it('one flipped byte: verify_backup fails and restore refuses before stopping or changing anything', async () => {
    const copy = await call<Backup>('backup', { component: 'volumes' });
    const file = join(backupDir, stack.project, copy.id, copy.components[0]!.file!);
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(file, bytes);
    const v = await call<{ ok: boolean; checks: Array<{ ok: boolean; detail: string }> }>('verify_backup', {
      id: copy.id,
    });
    expect(v.ok).toBe(false);
    expect(v.checks[0]?.detail).toMatch(/sha256/);
    const nats = await containerOf(stack.project, 'nats');
    const backups = (await readdir(join(backupDir, stack.project))).length;
    await expect(call('restore', { id: copy.id, component: 'volumes' }, approveAll)).rejects.toMatchObject({
      code: 'failed',
    });
    expect((await containerOf(stack.project, 'nats')).State.StartedAt).toBe(nats.State.StartedAt);
    expect((await readdir(join(backupDir, stack.project))).length).toBe(backups);
  });

  it('two backups of the same stack at once are serialized by the stack lock, and both complete', async () => {
    const waits: string[] = [];
    const spans: Array<{ id: string; start: number; end: number }> = [];
    const one = async (onProgress?: (m: string) => void) => {
      const start = Date.now();
      const out = (await invokeTool(
        findTool('backup')!,
        { ...ctx(), progress: (p) => onProgress?.(p.message ?? '') },
        { component: 'volumes' },
      )) as Backup;
      spans.push({ id: out.id, start, end: Date.now() });
      return out;
    };
    // The second starts once the first reports progress, i.e. holds the lock and is writing.
    let firstRunning!: () => void;
    const running = new Promise<void>((r) => {
      firstRunning = r;
    });
    const [a, b] = await Promise.all([
      one(() => firstRunning()),
      running.then(() => one((m) => m.startsWith('waiting') && waits.push(m))),
    ]);
    expect(a.verified && b.verified).toBe(true);
    expect(a.id).not.toBe(b.id);
    expect(waits).toEqual([expect.stringMatching(/stack .* is busy: backup by test/)]);
    // The second finished after the first: it ran once the first had released the lock.
    expect(spans[0]!.id).toBe(a.id);
    const listed = (await call<{ backups: Array<{ id: string; state: string }> }>('list_backups', {}))
      .backups;
    expect(listed.filter((x) => [a.id, b.id].includes(x.id)).map((x) => x.state)).toEqual([
      'complete',
      'complete',
    ]);
  });

  it('a backup killed mid-way is never listed as complete, and the next backup removes it', async () => {
    await sh('nats', 'head -c 120000000 /dev/urandom > /data/big.dat');
    const env = {
      DOOM_OPS_STATE_DIR: stateDir,
      DOOM_OPS_BACKUP_DIR: backupDir,
      DOOM_OPS_CONFIG: join(stateDir, 'cfg.yaml'),
    };
    await writeFile(env.DOOM_OPS_CONFIG, 'backup:\n  volumes: [nats-data]\n');
    const complete = async () =>
      JSON.parse((await cli(['backups', '--json', '--project', stack.project], env)).stdout).backups.filter(
        (b: { state: string }) => b.state === 'complete',
      ).length;
    const before = await complete();
    const child = execa('node', ['dist/src/cli/main.js', 'backup', 'volumes', '--project', stack.project], {
      env: { ...process.env, ...env },
      reject: false,
    });
    const orphans = () =>
      docker.listContainers({
        all: true,
        filters: { label: [`doom-ops.helper.owner=${hostname()}:${child.pid}`] },
      });
    // Killed while streaming: the partial directory exists and its helper container holds the volume.
    await waitFor(
      'a partial backup streaming',
      async () =>
        (await readdir(join(backupDir, stack.project))).some((d) => d.endsWith('.partial')) &&
        (await orphans()).length === 1,
      30_000,
      50,
    );
    child.kill('SIGKILL');
    await child;
    expect(await complete()).toBe(before);
    const listed = JSON.parse(
      (await cli(['backups', '--json', '--project', stack.project], env)).stdout,
    ).backups;
    expect(listed.some((b: { state: string }) => b.state === 'incomplete')).toBe(true);
    await sh('nats', 'rm /data/big.dat');
    expect(await orphans()).toHaveLength(1);
    await call('backup', { component: 'volumes' });
    expect((await readdir(join(backupDir, stack.project))).some((d) => d.endsWith('.partial'))).toBe(false);
    // The killed process's helper container (it holds the volume) is gone too.
    expect(await orphans()).toHaveLength(0);
  });
});
