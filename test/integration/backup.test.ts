import { mkdtempSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableRowCounts } from '../../src/adapters/duckdb/tables.js';
import { ResticRepository } from '../../src/adapters/restic/repository.js';
import type { Config } from '../../src/config/schema.js';
import type { Approver } from '../../src/safety/approver.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cli } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { OpenSearchStandIn } from '../helpers/opensearch-standin.js';
import { containerOf, docker, freePort, type TestStack, upStack, waitFor } from '../helpers/stack.js';

const backupDir = mkdtempSync(join(tmpdir(), 'doombackup-'));
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));
const os = new OpenSearchStandIn();
let stack: TestStack;
let config: Partial<Config>;

const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
const ctx = (approver?: Approver, over: Partial<Config['backup']> = {}): ToolContext => ({
  ...testContext(stack.project, undefined, { backup: { ...config.backup!, ...over } }, { stateDir }),
  ...(approver ? { approver } : {}),
});
const call = <T>(
  name: string,
  input: Record<string, unknown>,
  approver?: Approver,
  over?: Partial<Config['backup']>,
) => invokeTool(findTool(name)!, ctx(approver, over), input) as Promise<T>;

async function sh(service: string, script: string): Promise<string> {
  const c = await containerOf(stack.project, service);
  const r = await execa('docker', ['exec', c.Id, 'sh', '-c', script]);
  return r.stdout;
}
/** Whether a `restic backup` runs in the directory of volume `name` (read from /proc). */
async function resticReading(name: string): Promise<boolean> {
  const { readdir, readlink } = await import('node:fs/promises');
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.startsWith('restic\0') || !cmd.includes('\0backup\0')) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    // restic backs up `_data` from the volume's own directory.
    if (cwd.endsWith(`/${name}`) && cmd.endsWith('\0_data\0')) return true;
  }
  return false;
}
/** Whether a restic process runs with an argument containing `text` (read from /proc). */
async function resticRunning(text: string): Promise<boolean> {
  const { readdir } = await import('node:fs/promises');
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith('restic\0') && cmd.includes(text)) return true;
  }
  return false;
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
  phase: string;
  repository: string;
  components: Array<{
    component: string;
    target: string;
    bytes: number;
    bytesAdded: number | null;
    sha256: string | null;
    snapshot: string | null;
    access: string | null;
    filesUnchanged: number | null;
  }>;
  failures: Array<{ component: string; target?: string; reason: string }>;
  notes: string[];
  verified: boolean;
}
interface Listed {
  id: string;
  state: string;
  phase: string | null;
  reason: string | null;
  format: string;
  components: string[];
  failed: string[];
}
const list = async (over?: Partial<Config['backup']>) =>
  (await call<{ backups: Listed[] }>('list_backups', {}, undefined, over)).backups;

/** The local repository, opened the way doom-ops opens it (generated key in the state dir). */
const repo = () =>
  new ResticRepository({
    url: join(backupDir, 'restic'),
    password: { file: join(stateDir, 'restic', 'backup.repository.key') },
  });

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

describe('backup full into restic', () => {
  it('saves every named volume of the stack (no backup.volumes needed), MongoDB, DuckDB and OpenSearch, Completed', async () => {
    expect(full.phase).toBe('Completed');
    expect(full.failures).toEqual([]);
    const parts = full.components.map((c) => `${c.component}:${c.target}`).sort();
    expect(parts).toEqual(
      expect.arrayContaining([
        'volumes:nats-data',
        'volumes:mongodb-data',
        'mongodb:mongodb',
        'opensearch:backup',
        `duckdb:${(await containerOf(stack.project, 'agent')).Name.slice(1)}`,
      ]),
    );
    for (const c of full.components) expect(c.snapshot).toMatch(/^[0-9a-f]{8,64}$/);
    // The first backup made the local repository and its key, and says where the key is.
    expect(full.notes.join(' ')).toContain(join(stateDir, 'restic', 'backup.repository.key'));
    expect(full.notes.join(' ')).toMatch(/somewhere other than this host/);
  });

  it('stores one snapshot per component target, tagged with stack, backup id, component and target', async () => {
    const snaps = await repo().snapshots({ tags: [`stack=${stack.project}`, `backup=${full.id}`] });
    const nats = snaps.find((s) => s.tags.includes('target=nats-data') && s.tags.includes('role=data'));
    // restic read the volume's directory itself (file by file): the snapshot's path is the Mountpoint.
    const mountpoint = (await docker.getVolume(`${stack.project}_nats-data`).inspect()).Mountpoint;
    expect(nats?.paths).toEqual([mountpoint]);
    expect(full.components.find((c) => c.target === 'nats-data')?.access).toBe('directory');
    expect(nats?.tags).toEqual(
      expect.arrayContaining(['doom-ops', 'component=volumes', 'reason=requested', `backup=${full.id}`]),
    );
    expect(nats?.hostname).toBe('doom-ops');
    expect(snaps.filter((s) => s.tags.includes('role=manifest'))).toHaveLength(1);
    // Every volume, the empty one too, read as a directory: no per-file checksum lists (restic hashes the files).
    for (const c of full.components.filter((x) => x.component === 'volumes'))
      expect(c.access).toBe('directory');
    expect(snaps.filter((s) => s.tags.includes('role=sums'))).toEqual([]);
    // The repository is encrypted: the key is needed to read it.
    const wrong = new ResticRepository({
      url: join(backupDir, 'restic'),
      password: { env: 'DOOM_OPS_TEST_WRONG_PW' },
    });
    process.env.DOOM_OPS_TEST_WRONG_PW = 'not-the-key';
    await expect(wrong.snapshots()).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('records MongoDB collections, DuckDB row counts (read back from restic) and the OpenSearch snapshot name', async () => {
    const listed = (await list()).find((b) => b.id === full.id)!;
    expect(listed).toMatchObject({
      state: 'complete',
      phase: 'Completed',
      format: 'restic',
      reason: 'requested',
    });
    const v = await call<{
      ok: boolean;
      checks: Array<{ component: string; detail: string }>;
      repositoryCheck: { ok: boolean };
    }>('verify_backup', { id: full.id });
    expect(v.ok).toBe(true);
    expect(v.repositoryCheck.ok).toBe(true);
    expect(v.checks.find((c) => c.component === 'duckdb')?.detail).toMatch(
      /episodes: 100 rows, strategies: 1 rows/,
    );
    expect(v.checks.find((c) => c.component === 'mongodb')?.detail).toMatch(/sha256 ok; gzip stream intact/);
    expect(v.checks.find((c) => c.component === 'opensearch')?.detail).toMatch(/SUCCESS with 2 indices/);
    expect([...os.snapshots.keys()]).toContain(`doom-ops-${stack.project}-${full.id}`.toLowerCase());
    expect(await sh('agent', 'cat /tmp/duckdb-calls')).toContain('/data/play_logs.duckdb -c CHECKPOINT;');
  });

  it('a second backup of unchanged data adds almost nothing to the repository', async () => {
    const again = await call<Backup>('backup', { component: 'volumes' });
    const nats = again.components.find((c) => c.target === 'nats-data')!;
    expect(nats.bytesAdded).toBeLessThan(20_000);
    expect(nats.access).toBe('directory');
    // restic's change detection: no file of the unchanged volume was read again.
    const files = Number(await sh('nats', 'find /data -type f | wc -l'));
    expect(files).toBeGreaterThan(0);
    expect(nats.filesUnchanged).toBe(files);
    expect(again.notes).toEqual([]);
  });
});

describe('volumes restic may not read on this host', () => {
  it('a volume with a file doom-ops cannot read is streamed through the Engine API instead, and says why', async () => {
    // restic without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: a root that cannot read another user's 0600 file.
    const wrapper = join(stateDir, 'restic-without-dac');
    await writeFile(
      wrapper,
      '#!/bin/sh\nexec setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search restic "$@"\n',
      { mode: 0o755 },
    );
    await sh(
      'nats',
      'echo private > /data/private.key && chown 1234 /data/private.key && chmod 600 /data/private.key',
    );
    // A subdirectory it cannot list: restic names it with no errno, and a snapshot without it is no backup.
    await sh(
      'mongodb',
      'mkdir -p /data/db/locked && echo x > /data/db/locked/f && chown -R 1234 /data/db/locked && chmod 700 /data/db/locked',
    );
    try {
      const r = await call<Backup>('backup', { component: 'volumes' }, undefined, { restic: wrapper });
      expect(r.phase).toBe('Completed');
      const nats = r.components.find((c) => c.target === 'nats-data')!;
      expect(nats.access).toBe('engine');
      expect(r.notes.join(' ')).toMatch(
        /volume nats-data: restic could not read .*private\.key.* streamed through the Engine API instead/,
      );
      expect(r.notes.join(' ')).toMatch(
        /volume mongodb-data: restic could not read .*locked \(restic gave no reason: a directory it could not list.* streamed through the Engine API instead/,
      );
      expect(r.components.find((c) => c.target === 'mongodb-data')?.access).toBe('engine');
      expect(r.components.find((c) => c.target === 'opensearch-data')?.access).toBe('directory');
      const listed = await call<{ backups: Array<{ id: string }> }>('list_backups', {});
      expect(listed.backups.map((b) => b.id)).toContain(r.id);
      // No snapshot of the unreadable attempt stays: one data snapshot for nats-data, its tar.
      const snaps = await repo().snapshots({ tags: [`backup=${r.id}`, 'target=nats-data', 'role=data'] });
      expect(snaps.map((s) => s.paths)).toEqual([[`/${stack.project}/volumes/nats-data.tar`]]);
    } finally {
      await sh('nats', 'rm -f /data/private.key');
      await sh('mongodb', 'rm -rf /data/db/locked');
    }
  });
});

describe('partial backups', () => {
  it('with OpenSearch down, backup full ends PartiallyFailed: volumes, MongoDB and DuckDB saved, OpenSearch named with why', async () => {
    const port = await freePort();
    const r = await call<Backup>('backup', { component: 'full' }, undefined, {
      opensearch: { ...config.backup!.opensearch, url: `http://127.0.0.1:${port}` },
    });
    expect(r.phase).toBe('PartiallyFailed');
    expect(r.failures).toEqual([
      { component: 'opensearch', reason: expect.stringContaining(`OpenSearch at http://127.0.0.1:${port}`) },
    ]);
    const saved = r.components.map((c) => c.component);
    expect(saved).toEqual(expect.arrayContaining(['volumes', 'mongodb', 'duckdb']));
    expect(saved).not.toContain('opensearch');
    const listed = (await list()).find((b) => b.id === r.id)!;
    expect(listed.phase).toBe('PartiallyFailed');
    expect(listed.failed[0]).toMatch(/^opensearch: OpenSearch at/);
    // Components that failed are not offered for a restore.
    await expect(call('restore', { id: r.id, component: 'opensearch' }, approveAll)).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(
        /has no restorable opensearch \(it failed in that backup: OpenSearch at/,
      ),
    });
  });

  it('the CLI exits 1 for a partial backup and prints the phase and the failure', async () => {
    const port = await freePort();
    const cfg = join(stateDir, 'partial.yaml');
    await writeFile(
      cfg,
      `backup:\n  opensearch: { url: "http://127.0.0.1:${port}" }\n  duckdb: { file: /data/play_logs.duckdb }\n`,
    );
    const r = await cli(['backup', 'full', '--project', stack.project], {
      DOOM_OPS_CONFIG: cfg,
      DOOM_OPS_STATE_DIR: stateDir,
      DOOM_OPS_BACKUP_DIR: backupDir,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/PartiallyFailed: 1 failure\(s\) \(opensearch\), \d+ saved/);
    expect(r.stdout).toMatch(/FAILED +opensearch: OpenSearch at/);
  });

  it('backup.exclude leaves a volume out', async () => {
    const r = await call<Backup>('backup', { component: 'volumes' }, undefined, {
      exclude: ['mongodb-data'],
    });
    expect(r.components.map((c) => c.target)).toContain('nats-data');
    expect(r.components.map((c) => c.target)).not.toContain('mongodb-data');
  });
});

describe('consistency for services without a dump tool', () => {
  it('a service in backup.stop is stopped while its volume is archived, started again, audited; hooks run around it', async () => {
    const before = await containerOf(stack.project, 'nats');
    const r = await call<Backup>('backup', { component: 'volumes' }, undefined, {
      stop: ['nats'],
      hooks: {
        nats: { pre: ['sh', '-c', 'echo pre >> /tmp/hooks'], post: ['sh', '-c', 'echo post >> /tmp/hooks'] },
      },
    });
    expect(r.phase).toBe('Completed');
    const after = await containerOf(stack.project, 'nats');
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    // The pre hook ran in the container before it was stopped (its /tmp was kept), the post hook after.
    expect((await sh('nats', 'cat /tmp/hooks')).split('\n')).toEqual(['pre', 'post']);
    const audit = await call<{ entries: Array<{ event: string; outcome?: string }> }>('audit_log', {
      tool: 'backup',
    });
    const events = audit.entries.map((e) => `${e.event}: ${e.outcome}`);
    expect(
      events.some((e) => /backup_stop: stopping .*nats.* while volume nats-data is archived/.test(e)),
    ).toBe(true);
    expect(events.some((e) => /backup_start: started .*nats.* again/.test(e))).toBe(true);
  });

  it('a stop longer than backup.stopMax abandons that volume (restic stopped, nothing saved) and starts the service again', async () => {
    // restic alone needs longer than 300 ms (it derives the key first): the bound is reached mid-way.
    const r = await call<Backup>('backup', { component: 'volumes' }, undefined, {
      stop: ['nats'],
      stopMax: 300,
    });
    expect(r.phase).toBe('PartiallyFailed');
    expect(r.failures).toEqual([
      {
        component: 'volumes',
        target: 'nats-data',
        reason: expect.stringMatching(
          /took longer than backup.stopMax \(.*\) while .*nats.* was stopped; it was abandoned/,
        ),
      },
    ]);
    await waitFor('nats running again', async () => (await containerOf(stack.project, 'nats')).State.Running);
    expect(await resticReading(`${stack.project}_nats-data`)).toBe(false);
    expect(await repo().snapshots({ tags: [`backup=${r.id}`, 'target=nats-data'] })).toEqual([]);
  });

  it('a service a killed backup left stopped is started again by the next backup, and health says so meanwhile', async () => {
    const nats = await containerOf(stack.project, 'nats');
    // As consistency.ts records it just before stopping, by a process that is gone (pid 2^22 + 1 is never a live pid).
    const { markStoppedForBackup } = await import('../../src/backup/journal.js');
    const c = ctx();
    await markStoppedForBackup(c.config, stack.project, { id: nats.Id, name: nats.Name.slice(1) }, true);
    const file = join(stateDir, 'restore', `${stack.project}.backup-stopped.json`);
    const rec = JSON.parse(await readFile(file, 'utf8'));
    rec[0].pid = 4_194_305;
    await writeFile(file, JSON.stringify(rec));
    await execa('docker', ['stop', '-t', '1', nats.Id]);
    const h = await call<{ backups: { warnings: string[] } }>('stack_health', { deep: false });
    expect(h.backups.warnings.join(' ')).toMatch(
      /nats.* was stopped at .* by a backup that was killed before starting it again/,
    );
    const r = await call<Backup>('backup', { component: 'mongodb' });
    expect(r.notes.join(' ')).toMatch(/started .*nats.* again: an earlier backup stopped it/);
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
    const after = await call<{ backups: { warnings: string[] } }>('stack_health', { deep: false });
    expect(after.backups.warnings.join(' ')).not.toMatch(/killed before starting it again/);
  });

  it('a failing pre hook fails that volume only, and the service keeps running', async () => {
    const r = await call<Backup>('backup', { component: 'volumes' }, undefined, {
      stop: ['nats'],
      hooks: { nats: { pre: ['sh', '-c', 'echo cannot freeze >&2; exit 3'], post: [] } },
    });
    expect(r.phase).toBe('PartiallyFailed');
    expect(r.failures).toEqual([
      {
        component: 'volumes',
        target: 'nats-data',
        reason: expect.stringMatching(/pre hook of nats .* exited 3: cannot freeze/),
      },
    ]);
    expect(r.components.map((c) => c.target)).toContain('mongodb-data');
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
  });
});

describe('restore from restic', () => {
  it('without a human approval executes nothing', async () => {
    await sh('mongodb', 'echo "{\\"_id\\":99}" >> /data/db/clau-doom/episodes.jsonl');
    await expect(call('restore', { id: full.id, component: 'mongodb' })).rejects.toMatchObject({
      code: 'approval_required',
    });
    expect(await mongoState()).not.toBe(original.mongo);
  });

  it('round trips each component after the data changed, writing a safety backup first', async () => {
    await sh(
      'nats',
      'rm /data/jetstream/sub/meta && echo changed > /data/jetstream/stream.dat && echo new > /data/jetstream/new',
    );
    await putPlayLog(7);
    os.indices.get('strategies')!.docs = 0;
    expect(await volumeState()).not.toBe(original.volume);
    // The volume's own directory (its mode and owner) is part of the backup too.
    const rootBefore = await sh('nats', 'stat -c "%a %u:%g" /data');
    await sh('nats', 'chmod 700 /data && chown 4242:4242 /data');

    const mongo = await call<{ safetyBackup: string; from: string }>(
      'restore',
      { id: full.id, component: 'mongodb' },
      approveAll,
    );
    expect(mongo.from).toMatch(/^local repository /);
    expect(await mongoState()).toBe(original.mongo);

    const vol = await call<{ restored: Array<{ result: { stopped: string[] } }> }>(
      'restore',
      { id: full.id, component: 'volumes', target: 'nats-data' },
      approveAll,
    );
    expect(vol.restored[0]?.result.stopped).toHaveLength(1);
    await waitFor('nats running again', async () => (await containerOf(stack.project, 'nats')).State.Running);
    expect(await volumeState()).toBe(original.volume);
    expect(await sh('nats', 'stat -c "%a %u:%g" /data')).toBe(rootBefore);

    await call('restore', { id: full.id, component: 'duckdb' }, approveAll);
    await waitFor(
      'agent running again',
      async () => (await containerOf(stack.project, 'agent')).State.Running,
    );
    expect(await agentRows()).toEqual({ episodes: 100, strategies: 1 });

    os.calls.length = 0;
    await call('restore', { id: full.id, component: 'opensearch' }, approveAll);
    expect(os.indices.get('strategies')?.docs).toBe(40);

    const safety = (await list()).filter((b) => b.reason === 'pre-restore');
    expect(safety.length).toBeGreaterThanOrEqual(4);
    expect(safety.find((b) => b.id === mongo.safetyBackup)?.phase).toBe('Completed');
  });
});

describe('retention per component', () => {
  it('backup volumes; backup mongodb; prune keeps both', async () => {
    const vol = await call<Backup>('backup', { component: 'volumes' });
    const mon = await call<Backup>('backup', { component: 'mongodb' });
    const dry = await call<{
      repositories: Array<{
        groups: Array<{ component: string; target: string; kind: string; keep: string[]; remove: string[] }>;
      }>;
    }>('prune_backups', { dryRun: true });
    const groups = dry.repositories[0]!.groups;
    expect(
      groups.find((g) => g.component === 'volumes' && g.target === 'nats-data' && g.kind === 'requested')
        ?.keep[0],
    ).toBe(vol.id);
    expect(groups.find((g) => g.component === 'mongodb' && g.kind === 'requested')?.keep[0]).toBe(mon.id);
    await call('prune_backups', {}, approveAll);
    const after = await list();
    expect(after.find((b) => b.id === vol.id)?.components).toEqual(
      expect.arrayContaining(['volumes:nats-data']),
    );
    expect(after.find((b) => b.id === mon.id)?.components).toEqual(['mongodb:mongodb']);
  });

  it("a restore's safety backup never causes the restored-from backup to be pruned", async () => {
    const keepOne = { retention: { daily: 1, weekly: 0, safety: 1 } };
    const from = await call<Backup>('backup', { component: 'volumes' }, undefined, keepOne);
    const r = await call<{ safetyBackup: string }>(
      'restore',
      { id: from.id, component: 'volumes', target: 'nats-data' },
      approveAll,
      keepOne,
    );
    const d = await call<{
      repositories: Array<{ removedBackups: string[]; groups: Array<{ kind: string; keep: string[] }> }>;
    }>('prune_backups', {}, approveAll, keepOne);
    const after = await list(keepOne);
    expect(after.find((b) => b.id === from.id)?.components).toContain('volumes:nats-data');
    expect(after.find((b) => b.id === r.safetyBackup)?.components).toContain('volumes:nats-data');
    expect(d.repositories[0]!.removedBackups).not.toContain(from.id);
    // Older requested backups of nats-data went (daily: 1 keeps the newest of today).
    expect(
      after
        .filter((b) => b.reason === 'requested' && b.components.includes('volumes:nats-data'))
        .map((b) => b.id),
    ).toEqual([from.id]);
  });
});

describe('incomplete backups and old backups', () => {
  it('a backup killed mid-way is listed as incomplete, and the next backup removes it', async () => {
    await sh('nats', 'head -c 150000000 /dev/urandom > /data/big.dat');
    const env = {
      DOOM_OPS_STATE_DIR: stateDir,
      DOOM_OPS_BACKUP_DIR: backupDir,
      DOOM_OPS_CONFIG: join(stateDir, 'cfg.yaml'),
    };
    await writeFile(env.DOOM_OPS_CONFIG, 'backup:\n  volumes: [mongodb-data, nats-data]\n');
    const child = execa('node', ['dist/src/cli/main.js', 'backup', 'volumes', '--project', stack.project], {
      env: { ...process.env, ...env },
      reject: false,
    });
    const orphans = () =>
      docker.listContainers({
        all: true,
        filters: { label: [`doom-ops.helper.owner=${hostname()}:${child.pid}`] },
      });
    // mongodb-data is saved first; killed while restic reads nats-data's directory.
    await waitFor(
      'the second volume being read',
      () => resticReading(`${stack.project}_nats-data`),
      60_000,
      100,
    );
    child.kill('SIGKILL');
    await child;
    // The orphaned restic finishes reading the directory (its snapshot still belongs to the killed,
    // incomplete backup); the next backup runs after it.
    await waitFor(
      'restic to finish',
      async () => !(await resticReading(`${stack.project}_nats-data`)),
      60_000,
      100,
    );
    const listed = await list();
    const incomplete = listed.filter((b) => b.state === 'incomplete');
    expect(incomplete).toHaveLength(1);
    // The manifest's restic, started early, saw its input end with nothing in it when the CLI died:
    // it dies of the closed pipe, or saves a snapshot without the manifest file. Either way the
    // backup stays incomplete.
    await waitFor(
      "the orphaned manifest's restic to exit",
      async () => !(await resticRunning(`backup=${incomplete[0]!.id}`)),
      30_000,
      200,
    );
    expect((await list()).find((b) => b.id === incomplete[0]!.id)?.state).toBe('incomplete');
    // Retention never counts it: the newest complete backup of each volume stays, the incomplete one goes.
    const keepOne = { retention: { daily: 1, weekly: 0, safety: 3 } };
    const dry = await call<{
      repositories: Array<{
        removedBackups: string[];
        groups: Array<{ target: string; kind: string; keep: string[] }>;
      }>;
    }>('prune_backups', { dryRun: true }, undefined, keepOne);
    expect(dry.repositories[0]!.removedBackups).toContain(incomplete[0]!.id);
    for (const g of dry.repositories[0]!.groups) expect(g.keep).not.toContain(incomplete[0]!.id);
    const newestComplete = listed.find(
      (b) =>
        b.state === 'complete' && b.components.includes('volumes:mongodb-data') && b.reason === 'requested',
    )!;
    expect(
      dry.repositories[0]!.groups.find((g) => g.target === 'mongodb-data' && g.kind === 'requested')?.keep,
    ).toEqual([newestComplete.id]);
    await sh('nats', 'rm /data/big.dat');
    const next = await call<Backup>('backup', { component: 'volumes' });
    expect(next.phase).toBe('Completed');
    expect((await list()).filter((b) => b.state === 'incomplete')).toEqual([]);
    expect(await orphans()).toHaveLength(0);
    expect(
      await repo().snapshots({ tags: [`stack=${stack.project}`, `backup=${incomplete[0]!.id}`] }),
    ).toEqual([]);
  });

  it('a manifest snapshot holding no whole manifest (its writer killed mid-write) is incomplete; prune and the next backup remove it', async () => {
    const id = '20261203T101010Z-volumes';
    const tags = ['doom-ops', `stack=${stack.project}`, `backup=${id}`];
    await repo().backupStream(Readable.from([Buffer.from('volume bytes')]), {
      filename: `${stack.project}/volumes/nats-data.tar`,
      host: 'doom-ops',
      tags: [...tags, 'role=data', 'component=volumes', 'target=nats-data', 'reason=requested'],
    });
    await repo().backupStream(Readable.from([Buffer.from(`{\n  "id": "${id}",\n  "created": "2026-12-0`)]), {
      filename: `${stack.project}/doom-ops-manifest.json`,
      host: 'doom-ops',
      tags: [...tags, 'role=manifest', 'reason=requested'],
    });
    // Killed before a byte of the manifest: restic 0.14 saves the stdin path's directories only
    // (exit 3, "no data read"), a manifest snapshot without the manifest file.
    const empty = '20261203T101011Z-volumes';
    const run = await execa(
      'restic',
      [
        'backup',
        '--stdin',
        '--stdin-filename',
        `${stack.project}/doom-ops-manifest.json`,
        '--host',
        'doom-ops',
        ...[
          'doom-ops',
          `stack=${stack.project}`,
          `backup=${empty}`,
          'role=manifest',
          'reason=requested',
        ].flatMap((t) => ['--tag', t]),
      ],
      {
        input: '',
        reject: false,
        env: {
          RESTIC_REPOSITORY: join(backupDir, 'restic'),
          RESTIC_PASSWORD_FILE: join(stateDir, 'restic', 'backup.repository.key'),
        },
      },
    );
    expect(run.exitCode).toBe(3);
    expect(await repo().snapshots({ tags: [`backup=${empty}`, 'role=manifest'] })).toHaveLength(1);
    const listed = await call<{ backups: Array<{ id: string; state: string }> }>('list_backups', {});
    expect(listed.backups.find((b) => b.id === id)?.state).toBe('incomplete');
    expect(listed.backups.find((b) => b.id === empty)?.state).toBe('incomplete');
    const dry = await call<{ repositories: Array<{ removedBackups: string[]; error: string | null }> }>(
      'prune_backups',
      { dryRun: true },
    );
    expect(dry.repositories[0]!.error).toBeNull();
    expect(dry.repositories[0]!.removedBackups).toEqual(expect.arrayContaining([id, empty]));
    await call<Backup>('backup', { component: 'mongodb' });
    expect(await repo().snapshots({ tags: [`backup=${id}`] })).toEqual([]);
    expect(await repo().snapshots({ tags: [`backup=${empty}`] })).toEqual([]);
  });

  it('a manifest snapshot file restic cannot load is named, and never makes its backup look incomplete enough to remove', async () => {
    const b = await call<Backup>('backup', { component: 'volumes' });
    const [manifest] = await repo().snapshots({ tags: [`backup=${b.id}`, 'role=manifest'] });
    const dataBefore = await repo().snapshots({ tags: [`backup=${b.id}`, 'role=data'] });
    expect(dataBefore.length).toBeGreaterThan(0);
    const file = join(backupDir, 'restic', 'snapshots', manifest!.id);
    const bytes = await readFile(file);
    // The file damaged in the repository, and not in restic's local cache (another host, a new cache).
    const cached = (
      await execa('find', [join(homedir(), '.cache', 'restic'), '-name', manifest!.id], {
        reject: false,
      })
    ).stdout
      .split('\n')
      .filter(Boolean);
    await writeFile(file, 'not a snapshot\n');
    for (const c of cached) await rm(c, { force: true });
    // doom-ops's own listing cache (a backup's listing while snapshots/ is unchanged) goes too.
    await rm(join(stateDir, 'restic', 'listing'), { recursive: true, force: true });
    try {
      const listed = await call<{ damage: string[]; backups: Array<{ id: string; state: string }> }>(
        'list_backups',
        {},
      );
      expect(listed.damage.join(' ')).toMatch(
        new RegExp(`could not load 1 snapshot file\\(s\\) of it \\(${manifest!.shortId}`),
      );
      expect(listed.damage.join(' ')).toMatch(/listed as incomplete may be complete/);
      // Retention refuses rather than count that backup as incomplete.
      await expect(call('prune_backups', {}, approveAll)).rejects.toMatchObject({
        message: expect.stringMatching(/nothing was removed/),
      });
      await expect(call('verify_backup', { id: b.id })).rejects.toMatchObject({
        message: expect.stringMatching(/could not load 1 snapshot file/),
      });
      // A new backup is written, removes nothing, and says the repository is damaged.
      const next = await call<Backup>('backup', { component: 'volumes' });
      expect(next.phase).toBe('Completed');
      expect(next.notes.join(' ')).toMatch(
        /the repository is damaged: restic could not load 1 snapshot file/,
      );
      const dataAfter = await repo()
        .snapshots({ tags: [`backup=${b.id}`, 'role=data'] })
        .catch((err: { readable?: unknown[] }) => err.readable ?? []);
      expect(dataAfter.length).toBe(dataBefore.length);
    } finally {
      await writeFile(file, bytes);
    }
    expect((await call<{ damage: string[] }>('list_backups', {})).damage).toEqual([]);
    expect((await list()).find((x) => x.id === b.id)?.state).toBe('complete');
  });

  it('a backup written before restic (files under backup.dir) stays listable and restorable', async () => {
    const id = '20261101T030000Z-volumes';
    const dir = join(backupDir, stack.project, id);
    const src = mkdtempSync(join(tmpdir(), 'legacy-'));
    await execa('mkdir', ['-p', join(src, 'volume', 'old')]);
    await writeFile(join(src, 'volume', 'old', 'file.txt'), 'from the old format\n');
    await execa('mkdir', ['-p', join(dir, 'volumes')]);
    await execa('tar', ['czf', join(dir, 'volumes', 'nats-data.tar.gz'), '-C', src, 'volume']);
    const bytes = await readFile(join(dir, 'volumes', 'nats-data.tar.gz'));
    const sha256 = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
    await writeFile(
      join(dir, 'MANIFEST.json'),
      JSON.stringify({
        id,
        created: '2026-11-01T03:00:00.000Z',
        stack: stack.project,
        tool: { name: 'doom-ops', version: '0.1.0' },
        kind: 'volumes',
        reason: 'requested',
        components: [
          {
            component: 'volumes',
            target: 'nats-data',
            file: 'volumes/nats-data.tar.gz',
            bytes: bytes.length,
            sha256,
            details: {},
          },
        ],
      }),
    );
    const listed = (await list()).find((b) => b.id === id);
    expect(listed).toMatchObject({ format: 'legacy', state: 'complete', components: ['volumes:nats-data'] });
    const v = await call<{ ok: boolean }>('verify_backup', { id });
    expect(v.ok).toBe(true);
    await call('restore', { id, component: 'volumes' }, approveAll);
    await waitFor('nats running again', async () => (await containerOf(stack.project, 'nats')).State.Running);
    expect(await sh('nats', 'cat /data/old/file.txt')).toBe('from the old format');
  });
});
