import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { createSafety } from '../../src/safety/index.js';
import { cronSlots } from '../../src/schedule/cron.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import { ScheduleState } from '../../src/schedule/state.js';

const T0 = Date.parse('2026-11-28T03:00:00Z');

describe('cron slots', () => {
  it('gives the next slot after a time and the latest at or before it, seconds included', () => {
    const daily = cronSlots('0 3 * * *', 'UTC', 'daily');
    expect(daily.next(T0)).toBe(T0 + 24 * 3600_000);
    expect(daily.latest(T0)).toBe(T0);
    expect(daily.latest(T0 + 1000)).toBe(T0);
    const fast = cronSlots('*/3 * * * * *', 'UTC', 'fast');
    expect(fast.next(T0 + 1000)).toBe(T0 + 3000);
    expect(fast.latest(T0 + 5999)).toBe(T0 + 3000);
  });

  it('rejects a bad expression naming the job and the format', () => {
    expect(() => cronSlots('every day', 'UTC', 'nightly')).toThrow(/schedule.jobs nightly: cron "every day"/);
  });
});

describe('schedule state', () => {
  it('lets exactly one claimant have a slot, and one run at a time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomsched-'));
    const a = new ScheduleState(dir, 'p');
    const b = new ScheduleState(dir, 'p');
    expect(a.claim('job', T0)).toBe(true);
    expect(b.claim('job', T0)).toBe(false);
    expect(b.claim('job', T0 + 3000)).toBe(true);
    expect(a.lastClaimed('job')).toBe(T0 + 3000);
    const run = a.startRun('job', T0);
    expect('release' in run).toBe(true);
    expect(b.startRun('job', T0 + 3000)).toMatchObject({
      heldBy: expect.stringContaining(String(process.pid)),
    });
    if ('release' in run) run.release();
    expect('release' in b.startRun('job', T0 + 3000)).toBe(true);
  });
});

/** Waits (up to 20 s) until job "listing" has a finished run in the state dir. */
async function waitForHistory(dir: string): Promise<void> {
  for (let i = 0; i < 200 && new ScheduleState(dir, 'clau-doom').history('listing').length === 0; i++)
    await new Promise((res) => setTimeout(res, 100));
}

describe('missed slots after downtime', () => {
  function scheduler(
    missed: 'run-once' | 'skip',
    stateDir: string,
    now: number,
    step: { tool: string; input: Record<string, unknown> } = { tool: 'audit_log', input: {} },
    approvedBy?: string,
  ) {
    const config = loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir } });
    config.backup.dir = join(stateDir, 'backups');
    config.schedule.jobs = [
      {
        name: 'listing',
        cron: '0 * * * *',
        steps: [step],
        missed,
        ...(approvedBy ? { approvedBy } : {}),
        report: 'always',
        enabled: true,
      },
    ];
    const deps = {
      config,
      docker: new DockerAdapter({ timeoutMs: 1000 }),
      logger: createLogger('silent'),
      safety: createSafety(config),
    };
    return { scheduler: new Scheduler(deps, undefined, () => now), audit: deps.safety.audit };
  }

  for (const [policy, result] of [
    ['run-once', 'succeeded'],
    ['skip', 'skipped'],
  ] as const) {
    it(`${policy}: the latest missed slot is ${result}, once, even with two processes starting`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'doomsched-'));
      const state = new ScheduleState(dir, 'clau-doom');
      state.claim('listing', T0); // last ran at 03:00; doom-ops was down until 06:20
      const now = T0 + 3 * 3600_000 + 20 * 60_000;
      const [a, b] = [scheduler(policy, dir, now).scheduler, scheduler(policy, dir, now).scheduler];
      a.start();
      b.start();
      await Promise.all([a.stop(), b.stop()]);
      const history = state.history('listing');
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ result, slot: new Date(T0 + 3 * 3600_000).toISOString() });
      if (policy === 'skip') expect(history[0]!.reason).toMatch(/missed/);
    });
  }

  it('never runs a slot from before the first start (no history: nothing was missed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomsched-'));
    const s = scheduler('run-once', dir, T0 + 1800_000).scheduler;
    s.start();
    await s.stop();
    expect(new ScheduleState(dir, 'clau-doom').history('listing')).toEqual([]);
  });

  it('a destructive step runs only under the approval given in config, audited with that approver', async () => {
    const prune = { tool: 'prune_backups', input: {} };
    const now = T0 + 3600_000 + 1000;
    const refused = mkdtempSync(join(tmpdir(), 'doomsched-'));
    new ScheduleState(refused, 'clau-doom').claim('listing', T0);
    const r = scheduler('run-once', refused, now, prune);
    r.scheduler.start();
    // prune_backups plans with restic (no repository yet): let the run finish before stopping.
    await waitForHistory(refused);
    await r.scheduler.stop();
    const [failed] = new ScheduleState(refused, 'clau-doom').history('listing');
    expect(failed).toMatchObject({ result: 'failed' });
    expect(failed!.reason).toMatch(/prune_backups.*approvedBy is not set/);

    const approved = mkdtempSync(join(tmpdir(), 'doomsched-'));
    new ScheduleState(approved, 'clau-doom').claim('listing', T0);
    const a = scheduler('run-once', approved, now, prune, 'alice, change 42');
    a.scheduler.start();
    await waitForHistory(approved);
    await a.scheduler.stop();
    expect(new ScheduleState(approved, 'clau-doom').history('listing')[0]).toMatchObject({
      result: 'succeeded',
    });
    const { entries } = await a.audit.query({ tool: 'prune_backups' });
    expect(entries.find((e) => e.event === 'approved')).toMatchObject({
      principal: 'schedule:listing',
      approver: 'config:alice, change 42',
    });
    expect((await a.audit.query({ tool: 'listing' })).entries[0]).toMatchObject({
      event: 'scheduled_succeeded',
      approver: 'config:alice, change 42',
    });
  });
});
