import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { Approver } from '../../src/safety/approver.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { MongoStandIn } from '../helpers/mongodb-standin.js';
import { OpenSearchStandIn } from '../helpers/opensearch-standin.js';
import { type SftpServer, startSftpServer } from '../helpers/sftp-server.js';
import { containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

/** Restore drills, a restore killed with SIGKILL, and an offsite (sftp) repository used with the local one gone. */
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));
const os = new OpenSearchStandIn();
let stack: TestStack;
let base: Config['backup'];

const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
const ctx = (over: Partial<Config['backup']>, approver?: Approver): ToolContext => ({
  ...testContext(stack.project, undefined, { backup: { ...base, ...over } }, { stateDir }),
  ...(approver ? { approver } : {}),
});
const call = <T>(
  name: string,
  input: Record<string, unknown>,
  over: Partial<Config['backup']>,
  approver?: Approver,
) => invokeTool(findTool(name)!, ctx(over, approver), input) as Promise<T>;

async function sh(service: string, script: string): Promise<string> {
  const c = await containerOf(stack.project, service);
  return (await execa('docker', ['exec', c.Id, 'sh', '-c', script])).stdout;
}
const natsState = () => sh('nats', 'cd /data && find . -type f | sort | xargs sha256sum');

/**
 * Flips bytes in the middle of the largest pack of the restic repository under backup dir `dir`
 * (the one holding the volume's data): same size, so only reading the data notices.
 */
async function corruptLargestPack(dir: string): Promise<void> {
  const packs: string[] = [];
  const walk = (p: string) => {
    for (const f of readdirSync(p)) {
      const full = join(p, f);
      if (statSync(full).isDirectory()) walk(full);
      else packs.push(full);
    }
  };
  walk(join(dir, 'restic', 'data'));
  const biggest = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const h = await open(biggest, 'r+');
  const at = Math.floor(statSync(biggest).size / 2);
  const buf = Buffer.alloc(64);
  await h.read(buf, 0, 64, at);
  for (let i = 0; i < buf.length; i++) buf[i]! ^= 0xff;
  await h.write(buf, 0, 64, at);
  await h.close();
}

/** restic processes this test process started that are still running. */
function resticChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(fields[1]) === process.pid && comm === 'restic') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

interface Drill {
  backup: string;
  restorable: boolean;
  restorableAsOf: string | null;
  summary: string;
  scratchProject: string;
  checks: Array<{ component: string; target: string; status: string; detail: string }>;
}
interface Health {
  summary: string;
  backups: { restore: string | null; lastGoodDrill: { backup: string } | null; warnings: string[] };
}

beforeAll(async () => {
  await os.start();
  os.indices.set('episodes', { status: 'open', docs: 10 });
  stack = await upStack({ services: ['nats', 'mongodb', 'agent'] });
  const b = testContext(stack.project).config.backup;
  base = { ...b, opensearch: { ...b.opensearch, url: os.url } };
  await waitFor('agent running', async () => (await containerOf(stack.project, 'agent')).State.Running);
  await sh(
    'nats',
    'mkdir -p /data/js/a && head -c 200000 /dev/urandom > /data/js/a/s.dat && echo meta > /data/js/m',
  );
  await sh(
    'mongodb',
    'mkdir -p /data/db/clau-doom && printf "{\\"_id\\":1}\\n{\\"_id\\":2}\\n" > /data/db/clau-doom/episodes.jsonl',
  );
});

afterAll(async () => {
  await stack?.down();
  await os.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe('restore drills', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doomdrill-'));
  const over = { dir, duckdb: { service: 'agent', file: '/data/play_logs.duckdb', checkpoint: [] } };
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('restores the newest backup into a scratch project, checks every file, and reports it restorable; health shows it', async () => {
    const before = await call<Health>('stack_health', { deep: false }, over);
    expect(before.backups.warnings.join(' ')).toMatch(/no restore drill has succeeded yet/);
    await call('backup', { component: 'volumes' }, over);
    const newest = await call<{ id: string }>('backup', { component: 'full' }, over);
    const d = await call<Drill>('drill_backup', {}, over);
    expect(d.backup).toBe(newest.id);
    expect(d.restorable).toBe(true);
    expect(d.restorableAsOf).not.toBeNull();
    const nats = d.checks.find((c) => c.target === 'nats-data')!;
    expect(nats).toMatchObject({ status: 'ok' });
    // restic read the volume's directory: each restored file is checked against restic's copy.
    expect(nats.detail).toMatch(/: 2 file\(s\), each matching the sha256 of restic's copy/);
    // The test image has the mongorestore stand-in: the archive is restored into a scratch container.
    expect(d.checks.find((c) => c.component === 'mongodb')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/mongorestore into scratch container .*: 2 document\(s\), as recorded/),
    });
    expect(d.checks.find((c) => c.component === 'opensearch')?.status).toBe('ok');
    // Never the live stack: the scratch project's volumes and containers are gone, the live ones untouched.
    const left = await docker.listVolumes({
      filters: { label: [`doom-ops.drill.project=${d.scratchProject}`] },
    });
    expect(left.Volumes ?? []).toEqual([]);
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`doom-ops.drill.project=${d.scratchProject}`] },
      }),
    ).toEqual([]);
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
    const after = await call<Health>('stack_health', { deep: false }, over);
    expect(after.backups.lastGoodDrill?.backup).toBe(newest.id);
    expect(after.backups.warnings).toEqual([]);
  });

  it('a volume streamed through the Engine API (backup.volumeAccess engine) is checked against its recorded per-file sha256', async () => {
    const engine = {
      ...over,
      dir: mkdtempSync(join(tmpdir(), 'doomdrill-engine-')),
      volumeAccess: 'engine' as const,
    };
    try {
      const b = await call<{ components: Array<{ target: string; access: string | null }> }>(
        'backup',
        { component: 'volumes' },
        engine,
      );
      expect(b.components.find((c) => c.target === 'nats-data')?.access).toBe('engine');
      const d = await call<Drill>('drill_backup', {}, engine);
      expect(d.restorable).toBe(true);
      expect(d.checks.find((c) => c.target === 'nats-data')?.detail).toMatch(
        /: 2 file\(s\), each matching its recorded sha256/,
      );
    } finally {
      await rm(engine.dir, { recursive: true, force: true });
    }
  });

  it('a corrupted repository pack makes the drill fail and says which backup', async () => {
    await corruptLargestPack(dir);
    const d = await call<Drill>('drill_backup', {}, over);
    expect(d.restorable).toBe(false);
    expect(d.summary).toMatch(new RegExp(`^backup ${d.backup} is NOT restorable: volumes:nats-data: `));
    const h2 = await call<Health>('stack_health', { deep: false }, over);
    expect(h2.backups.warnings.join(' ')).toMatch(/the last restore drill failed/);
    // The CLI's exit code says so too.
    const cfg = join(stateDir, 'drill.yaml');
    await writeFile(cfg, `backup:\n  opensearch: { url: "${os.url}" }\n`);
    const r = await execa('node', ['dist/src/cli/main.js', 'drill', d.backup, '--project', stack.project], {
      env: { ...process.env, DOOM_OPS_STATE_DIR: stateDir, DOOM_OPS_BACKUP_DIR: dir, DOOM_OPS_CONFIG: cfg },
      reject: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/NOT restorable/);
  });
});

describe('a restore killed with SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doomkill-'));
  const over = { dir, volumes: ['nats-data'] };
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is reported by health, and the next restore completes it', async () => {
    await sh('nats', 'head -c 150000000 /dev/urandom > /data/big.dat');
    const b = await call<{ id: string }>('backup', { component: 'volumes' }, over);
    const want = await natsState();
    await sh('nats', 'rm /data/big.dat && echo changed > /data/js/m');
    // A newer backup of the changed data: retention keeping one per day would remove the one restored from.
    await call('backup', { component: 'volumes' }, over);
    const cfg = join(stateDir, 'kill.yaml');
    await writeFile(cfg, 'backup:\n  volumes: [nats-data]\n');
    const child = execa(
      'node',
      [
        'dist/src/cli/main.js',
        'restore',
        'volumes',
        b.id,
        '--target',
        'nats-data',
        '--yes',
        '--project',
        stack.project,
      ],
      {
        env: { ...process.env, DOOM_OPS_STATE_DIR: stateDir, DOOM_OPS_BACKUP_DIR: dir, DOOM_OPS_CONFIG: cfg },
        reject: false,
      },
    );
    const helpers = () =>
      docker.listContainers({
        all: true,
        filters: { label: [`doom-ops.helper.owner=${hostname()}:${child.pid}`] },
      });
    // Killed while the archive streams into the emptied volume.
    await waitFor(
      'the restore writing into the volume',
      async () =>
        (await helpers()).some(
          (c) => /^restore /.test(c.Labels['doom-ops.helper'] ?? '') && c.State === 'exited',
        ),
      90_000,
      50,
    );
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await child;
    const h = await call<Health>('stack_health', { deep: false }, over);
    expect(h.backups.restore).toMatch(
      new RegExp(
        `restore of volumes \\(nats-data\\) from backup ${b.id} interrupted at .*: volume incomplete, .*nats.* may still be stopped; run it again`,
      ),
    );
    expect(h.backups.restore).toMatch(/or restore the safety backup \S+-volumes/);
    const safety = /or restore the safety backup (\S+-volumes)/.exec(h.backups.restore ?? '')![1];
    expect(h.summary).toContain('interrupted');
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(false);
    // Another restore would lose the record of this one: refused until it is completed.
    await expect(call('restore', { id: b.id, component: 'mongodb' }, over, approveAll)).rejects.toMatchObject(
      {
        code: 'conflict',
        message: expect.stringMatching(
          /cannot restore mongodb now: restore of volumes \(nats-data\) .* interrupted/,
        ),
      },
    );

    // A backup now would save the half-written volume as if it were data: it is named, not saved.
    const during = await call<{
      phase: string;
      failures: Array<{ component: string; target?: string; reason: string }>;
      components: Array<{ target: string }>;
    }>('backup', { component: 'volumes' }, { ...over, volumes: ['nats-data', 'mongodb-data'] });
    expect(during.phase).toBe('PartiallyFailed');
    expect(during.components.map((c) => c.target)).toEqual(['mongodb-data']);
    expect(during.failures).toEqual([
      {
        component: 'volumes',
        target: 'nats-data',
        reason: expect.stringMatching(
          new RegExp(
            `^not backed up: its data is half-restored \\(restore of volumes \\(nats-data\\) from backup ${b.id} interrupted`,
          ),
        ),
      },
    ]);
    // Retention keeps the backup the interrupted restore reads (its safety backup is the newest safety one).
    const prune = await call<{
      repositories: Array<{
        held: Array<{ backup: string; why: string }>;
        groups: Array<{ remove: string[] }>;
      }>;
    }>('prune_backups', { dryRun: true }, { ...over, retention: { daily: 1, weekly: 0, safety: 1 } });
    expect(prune.repositories[0]!.held).toEqual([
      { backup: b.id, why: expect.stringMatching(/^the interrupted restore of volumes .* reads it$/) },
    ]);
    for (const g of prune.repositories[0]!.groups) expect(g.remove).not.toContain(b.id);

    const r = await call<{ completedInterrupted: boolean; id: string; safetyBackup: string }>(
      'restore',
      {},
      over,
      approveAll,
    );
    // The half-written volume is not backed up again: the interrupted run's safety backup is kept.
    expect(r).toMatchObject({ completedInterrupted: true, id: b.id, safetyBackup: safety });
    await waitFor('nats running again', async () => (await containerOf(stack.project, 'nats')).State.Running);
    expect(await natsState()).toBe(want);
    expect((await call<Health>('stack_health', { deep: false }, over)).backups.restore).toBeNull();
    expect(await helpers()).toEqual([]);
    await sh('nats', 'rm -f /data/big.dat');
  });

  it('cancelled mid-way (Ctrl-C, a client cancelling): the service is started again, and the journal says so', async () => {
    await sh('nats', 'head -c 150000000 /dev/urandom > /data/big.dat');
    const b = await call<{ id: string }>('backup', { component: 'volumes' }, over);
    const want = await natsState();
    await sh('nats', 'rm /data/big.dat');
    const dataDir = (await docker.getVolume(`${stack.project}_nats-data`).inspect()).Mountpoint;
    const abort = new AbortController();
    const c: ToolContext = {
      ...testContext(stack.project, abort.signal, { backup: { ...base, ...over } }, { stateDir }),
      approver: approveAll,
      // Cancel once the archive is being written into the emptied volume: big.dat is back in it,
      // partly (watched on the engine's own path for the volume; this engine is local).
      progress: (p) => {
        if (!/^restoring volumes/.test(p.message ?? '')) return;
        const poll = setInterval(() => {
          const size = (() => {
            try {
              return statSync(join(dataDir, 'big.dat')).size;
            } catch {
              return 0;
            }
          })();
          if (size > 0 && size < 150_000_000) {
            clearInterval(poll);
            abort.abort();
          }
        }, 5);
        abort.signal.addEventListener('abort', () => clearInterval(poll));
        setTimeout(() => clearInterval(poll), 60_000).unref();
      },
    };
    await expect(
      invokeTool(findTool('restore')!, c, { id: b.id, component: 'volumes', target: 'nats-data' }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    // Started again with a fresh deadline, not the cancelled signal.
    await waitFor(
      'nats running again',
      async () => (await containerOf(stack.project, 'nats')).State.Running,
      30_000,
    );
    const h = await call<Health>('stack_health', { deep: false }, over);
    expect(h.backups.restore).toMatch(
      /failed at .* \(cancelled\) during restoring nats-data: volume incomplete/,
    );
    const r = await call<{ completedInterrupted: boolean }>('restore', {}, over, approveAll);
    expect(r.completedInterrupted).toBe(true);
    expect(await natsState()).toBe(want);
    await sh('nats', 'rm -f /data/big.dat');
  });

  it('restore with no arguments and nothing interrupted says what it needs', async () => {
    await expect(call('restore', {}, over, approveAll)).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/needs a backup id and a component: there is no interrupted restore/),
    });
  });
});

describe('a restore interrupted before it changed anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doomearly-'));
  const over = { dir, volumes: ['nats-data'] };
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is reported, but holds up no restore of other data', async () => {
    const b = await call<{ id: string }>('backup', { component: 'volumes' }, over);
    // A restore of mongodb killed while it was still verifying its backup: nothing was touched.
    const journal = join(stateDir, 'restore', `${stack.project}.json`);
    await mkdir(join(stateDir, 'restore'), { recursive: true });
    const at = new Date().toISOString();
    await writeFile(
      journal,
      JSON.stringify({
        id: b.id,
        component: 'mongodb',
        targets: [],
        repository: 'local',
        startedAt: at,
        updatedAt: at,
        host: hostname(),
        pid: 2 ** 22 + 1,
        step: 'verifying',
        stopped: [],
      }),
    );
    const h = await call<Health>('stack_health', { deep: false }, over);
    expect(h.backups.restore).toMatch(/during verifying: nothing was changed yet/);
    const r = await call<{ id: string; completedInterrupted: boolean }>(
      'restore',
      { id: b.id, component: 'volumes', target: 'nats-data' },
      over,
      approveAll,
    );
    expect(r).toMatchObject({ id: b.id, completedInterrupted: false });
    expect((await call<Health>('stack_health', { deep: false }, over)).backups.restore).toBeNull();
  });
});

describe('a restore reads its backup back while writing the safety backup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doomcheck-'));
  const over = { dir, volumes: ['nats-data'] };
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const restore = (id: string, extra: Partial<Config['backup']> = {}) =>
    call<{ safetyBackup: string }>(
      'restore',
      { id, component: 'volumes', target: 'nats-data' },
      { ...over, ...extra },
      approveAll,
    );
  const safetyBackups = async (o: Partial<Config['backup']> = over) =>
    (
      await call<{ backups: Array<{ id: string; reason: string | null; phase: string | null }> }>(
        'list_backups',
        {},
        o,
      )
    ).backups.filter((x) => x.reason === 'pre-restore');
  /** Nothing was changed: the volume as it was, its service never stopped, no journal, no helper, no restic left. */
  const unchanged = async (want: string, o: Partial<Config['backup']> = over) => {
    expect(await natsState()).toBe(want);
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
    expect((await call<Health>('stack_health', { deep: false }, o)).backups.restore).toBeNull();
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`doom-ops.helper.owner=${hostname()}:${process.pid}`] },
      }),
    ).toEqual([]);
    expect(resticChildren()).toEqual([]);
  };

  it('both run at once: the data dump and the safety backup each wait for the other to start', async () => {
    const b = await call<{ id: string }>('backup', { component: 'volumes' }, over);
    await sh('nats', 'echo changed > /data/js/m');
    // A wrapper around the real restic: a dump of backup data and a backup each wait (at most 20 s)
    // until the other has started, and log whether they met. One after the other, the first to run
    // waits in vain and logs "alone".
    const barrier = mkdtempSync(join(tmpdir(), 'doombarrier-'));
    const wrapper = join(barrier, 'restic');
    await writeFile(
      wrapper,
      [
        '#!/bin/sh',
        'dir=$(dirname "$0")',
        'case " $* " in',
        '  *" dump "*doom-ops-manifest.json*) exec restic "$@" ;;',
        '  *" dump "*) me=dump; other=backup ;;',
        '  *" backup "*) me=backup; other=dump ;;',
        '  *) exec restic "$@" ;;',
        'esac',
        'touch "$dir/$me.started"',
        'i=0',
        'while [ ! -e "$dir/$other.started" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done',
        'if [ -e "$dir/$other.started" ]; then echo "$me met $other" >> "$dir/log"; else echo "$me alone" >> "$dir/log"; fi',
        'exec restic "$@"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    try {
      const r = await restore(b.id, { restic: wrapper });
      const log = (await readFile(join(barrier, 'log'), 'utf8')).trim().split('\n');
      expect(log).not.toContain('dump alone');
      expect(log).not.toContain('backup alone');
      // The verification's dump, the safety backup's restic runs, then the restore's own dump.
      expect(log[0]).toMatch(/^(dump met backup|backup met dump)$/);
      expect(log).toContain('dump met backup');
      expect((await safetyBackups()).find((x) => x.id === r.safetyBackup)?.phase).toBe('Completed');
      expect(await sh('nats', 'cat /data/js/m')).toBe('meta');
    } finally {
      await rm(barrier, { recursive: true, force: true });
    }
  });

  it('a safety backup that fails changes nothing, though the backup itself checked out', async () => {
    const b = await call<{ id: string }>('backup', { component: 'volumes' }, over);
    await sh('nats', 'echo changed > /data/js/m');
    const want = await natsState();
    const before = (await safetyBackups()).map((x) => x.id);
    const hooks = { nats: { pre: ['sh', '-c', 'echo cannot freeze >&2; exit 3'], post: [] } };
    await expect(restore(b.id, { hooks })).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(
        new RegExp(
          `^the safety backup of the current volumes data did not complete \\(Failed: nats-data: pre hook of nats .* exited 3: cannot freeze.*\\); nothing was changed \\(backup ${b.id} itself was read back and checked: ok\\)$`,
        ),
      ),
      hint: expect.stringMatching(/fix what the safety backup reports/),
    });
    await unchanged(want);
    // Its manifest records the failure; no complete safety backup came of it.
    expect((await safetyBackups()).filter((x) => !before.includes(x.id))).toEqual([
      expect.objectContaining({ phase: 'Failed' }),
    ]);
  });

  it('a backup that fails verification changes nothing; the safety backup written meanwhile is kept and named', async () => {
    // A repository of its own: its data pack is damaged below.
    const own = { ...over, dir: mkdtempSync(join(tmpdir(), 'doomcheckbad-')) };
    try {
      await sh('nats', 'head -c 3000000 /dev/urandom > /data/v.dat');
      const b = await call<{ id: string }>('backup', { component: 'volumes' }, own);
      await corruptLargestPack(own.dir);
      // New data (its chunks are not in the damaged pack): the safety backup can be written whole.
      await sh('nats', 'head -c 3000000 /dev/urandom > /data/v.dat');
      const want = await natsState();
      const err = await call(
        'restore',
        { id: b.id, component: 'volumes', target: 'nats-data' },
        own,
        approveAll,
      ).catch((e: unknown) => e as { code: string; message: string; hint: string });
      expect(err).toMatchObject({
        code: 'failed',
        message: expect.stringMatching(
          new RegExp(
            `^backup ${b.id} failed verification, nothing was changed: nats-data: .+\\. The safety backup \\S+ of the current volumes data was written meanwhile and is kept`,
          ),
        ),
        hint: expect.stringMatching(/pick another backup/),
      });
      await unchanged(want, own);
      const named = /The safety backup (\S+) /.exec((err as { message: string }).message)![1];
      expect(await safetyBackups(own)).toEqual([
        expect.objectContaining({ id: named, phase: 'Completed', reason: 'pre-restore' }),
      ]);
    } finally {
      await sh('nats', 'rm -f /data/v.dat');
      await rm(own.dir, { recursive: true, force: true });
    }
  });

  it('cancelled while both run: both stop, nothing is changed, no journal is left', async () => {
    await sh('nats', 'head -c 50000000 /dev/urandom > /data/v.dat');
    const b = await call<{ id: string }>('backup', { component: 'volumes' }, over);
    await sh('nats', 'head -c 50000000 /dev/urandom > /data/v.dat');
    const want = await natsState();
    const before = (await safetyBackups()).map((x) => x.id);
    const abort = new AbortController();
    const c: ToolContext = {
      ...testContext(stack.project, abort.signal, { backup: { ...base, ...over } }, { stateDir }),
      approver: approveAll,
      // The verification's dump starts first; cancel once the safety backup reads the volume.
      progress: (p) => {
        if (/^safety backup: backing up volume nats-data/.test(p.message ?? '')) abort.abort();
      },
    };
    try {
      await expect(
        invokeTool(findTool('restore')!, c, { id: b.id, component: 'volumes', target: 'nats-data' }),
      ).rejects.toMatchObject({
        code: 'cancelled',
        message: expect.stringMatching(/nothing was changed/),
      });
      await unchanged(want);
      // No safety backup was completed, and none is left half-written.
      const after = await call<{ backups: Array<{ id: string; state: string; reason: string | null }> }>(
        'list_backups',
        {},
        over,
      );
      expect(after.backups.filter((x) => x.reason === 'pre-restore' && !before.includes(x.id))).toEqual([]);
      expect(after.backups.filter((x) => x.state === 'incomplete')).toEqual([]);
    } finally {
      await sh('nats', 'rm -f /data/v.dat');
    }
  });
});

describe('a volume whose image has no shell', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doomnosh-'));
  const root = mkdtempSync(join(tmpdir(), 'doomnosh-root-'));
  const project = `doomnosh${process.pid}`;
  const image = `doom-ops-test/nosh:${process.pid}`;
  const volume = `${project}_data`;
  afterAll(async () => {
    await docker
      .getContainer(`${project}_svc_1`)
      .remove({ force: true })
      .catch(() => undefined);
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => undefined);
    await docker
      .getImage(image)
      .remove()
      .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  it('is emptied by a plain find helper (the gated one needs sh) and restored', async () => {
    const IMAGE = 'doom-ops-test/base:latest';
    // An image with find and rm only (busybox runs the applet its file is named after).
    await mkdir(join(root, 'bin'));
    for (const tool of ['find', 'rm']) await execa('cp', ['/bin/busybox', join(root, 'bin', tool)]);
    await execa('sh', ['-c', 'tar -C "$1" -c . | docker import - "$2"', 'sh', root, image]);
    await docker.createVolume({
      Name: volume,
      Labels: { 'com.docker.compose.project': project, 'com.docker.compose.volume': 'data' },
    });
    await docker.createContainer({
      name: `${project}_svc_1`,
      Image: image,
      Cmd: ['find', '/data'],
      Labels: {
        'com.docker.compose.project': project,
        'com.docker.compose.service': 'svc',
        'com.docker.compose.container-number': '1',
        'com.docker.compose.oneoff': 'False',
      },
      HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }] },
    });
    const put = (text: string) =>
      execa('docker', ['run', '--rm', '-v', `${volume}:/data`, IMAGE, 'sh', '-c', `echo ${text} > /data/f`]);
    const read = async () =>
      (await execa('docker', ['run', '--rm', '-v', `${volume}:/data`, IMAGE, 'cat', '/data/f'])).stdout;
    await put('backed-up');
    const c = (approver?: Approver) => ({
      ...testContext(project, undefined, { backup: { ...base, dir, volumes: ['data'] } }, { stateDir }),
      ...(approver ? { approver } : {}),
    });
    const b = (await invokeTool(findTool('backup')!, c(), { component: 'volumes' })) as { id: string };
    await put('changed');
    await invokeTool(findTool('restore')!, c(approveAll), { id: b.id, component: 'volumes' });
    expect(await read()).toBe('backed-up');
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`doom-ops.helper.owner=${hostname()}:${process.pid}`] },
      }),
    ).toEqual([]);
  });
});

describe('an sftp offsite repository', () => {
  let sftp: SftpServer;
  const dir = mkdtempSync(join(tmpdir(), 'doomoff-'));
  let over: Partial<Config['backup']>;
  beforeAll(async () => {
    sftp = await startSftpServer();
    const pw = join(stateDir, 'offsite.pw');
    await writeFile(pw, 'offsite-s3cret-pw\n', { mode: 0o600 });
    over = {
      dir,
      volumes: ['nats-data'],
      offsite: [
        { name: 'site2', url: sftp.url('site2'), password: { file: pw }, options: [sftp.option], env: {} },
      ],
    };
  });
  afterAll(async () => {
    await sftp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('receives every backup, and a restore from it works with the local repository deleted', async () => {
    const want = await natsState();
    const b = await call<{ id: string; offsite: Array<{ name: string; ok: boolean }> }>(
      'backup',
      { component: 'volumes' },
      over,
    );
    expect(b.offsite).toEqual([
      { name: 'site2', ok: true, detail: expect.stringContaining('copied to sftp:') },
    ]);
    const remote = await call<{ backups: Array<{ id: string; components: string[] }> }>(
      'list_backups',
      { repository: 'site2' },
      over,
    );
    expect(remote.backups.find((x) => x.id === b.id)?.components).toEqual(['volumes:nats-data']);

    await rm(join(dir, 'restic'), { recursive: true, force: true });
    await sh('nats', 'echo lost > /data/js/m && rm -rf /data/js/a');
    const r = await call<{ from: string }>('restore', { id: b.id, component: 'volumes' }, over, approveAll);
    expect(r.from).toMatch(/^offsite repository site2 \(sftp:/);
    await waitFor('nats running again', async () => (await containerOf(stack.project, 'nats')).State.Running);
    expect(await natsState()).toBe(want);
  });

  it('an offsite repository without a configured password is refused', async () => {
    await expect(
      call(
        'backup',
        { component: 'volumes' },
        {
          ...over,
          offsite: [{ name: 'nopw', url: sftp.url('nopw'), password: {}, options: [sftp.option], env: {} }],
        },
      ),
    ).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/offsite repository nopw .* has no password/),
    });
  });
});

describe('restore drills count documents per collection through the driver', () => {
  const mongo = new MongoStandIn();
  const dir = mkdtempSync(join(tmpdir(), 'doomdrillcount-'));
  const over = { dir, duckdb: { service: 'agent', file: '/data/play_logs.duckdb', checkpoint: [] } };
  /** A drill whose counting reaches the stand-in at `uri` (default: the scratch container's address). */
  const drill = (uri?: string) =>
    invokeTool(
      findTool('drill_backup')!,
      testContext(
        stack.project,
        undefined,
        {
          backup: { ...base, ...over, drill: { mongodbUri: uri ?? 'mongodb://{ip}:27017' } },
          mongodb: { replicaSet: false, timeout: 1500 },
        },
        { stateDir },
      ),
      {},
    ) as Promise<Drill>;
  const mongoCheck = (d: Drill) => d.checks.find((c) => c.component === 'mongodb')!;
  beforeAll(async () => {
    await mongo.start();
    // The backup records mongodump's "done dumping clau-doom.episodes (2 documents)".
    await call('backup', { component: 'mongodb' }, over);
  });
  afterAll(async () => {
    await mongo.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts as recorded: the drill names each collection it compared; the scratch network is removed', async () => {
    mongo.counts = { 'clau-doom.episodes': 2 };
    const d = await drill(`mongodb://127.0.0.1:${mongo.port}`);
    expect(d.restorable).toBe(true);
    expect(mongoCheck(d)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(
        /: 2 document\(s\), as recorded; counted through the driver at mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true: 1 collection\(s\) as recorded \(clau-doom\.episodes: 2\)$/,
      ),
    });
    expect(mongo.received('aggregate').map((c) => `${c.db}.${String(c.document.aggregate)}`)).toEqual([
      'clau-doom.episodes',
    ]);
    expect(
      await docker.listNetworks({ filters: { label: [`doom-ops.drill.project=${d.scratchProject}`] } }),
    ).toEqual([]);
  });

  it('a collection whose restored count differs makes the drill fail, naming it', async () => {
    mongo.counts = { 'clau-doom.episodes': 1, 'clau-doom.extra': 3 };
    const d = await drill(`mongodb://127.0.0.1:${mongo.port}`);
    expect(d.restorable).toBe(false);
    expect(mongoCheck(d)).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(
        /^restored document counts differ from the backup's \(counted through the driver at mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true\): clau-doom\.episodes: 1 restored, 2 recorded$/,
      ),
    });
    expect(d.summary).toMatch(
      /is NOT restorable: mongodb:mongodb: .*clau-doom\.episodes: 1 restored, 2 recorded/,
    );
  });

  it("by default the driver goes to the scratch container's own address; no mongod answering there: mongorestore's total, saying why", async () => {
    // The test image has no mongod: the scratch container's kernel refuses the connection, which
    // shows doom-ops reached its address on the drill's network.
    const d = await drill();
    expect(d.restorable).toBe(true);
    expect(mongoCheck(d)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(
        /: 2 document\(s\), as recorded \(mongorestore's total; per-collection counts not checked: .*cannot reach MongoDB at mongodb:\/\/\d+\.\d+\.\d+\.\d+:27017\/\?directConnection=true within 1500 ms .*ECONNREFUSED/,
      ),
    });
  });
});
