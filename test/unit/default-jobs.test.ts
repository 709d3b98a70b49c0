import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createSafety } from '../../src/safety/index.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import { ScheduleState } from '../../src/schedule/state.js';
import { findTool } from '../../src/tools/registry.js';

// Defaults that work: the jobs doom-ops ships run every night without a human, so none of them may
// hold a step that is refused for want of an approval. Retention is a job of its own, off until an
// approver turns it on in config.
const T0 = Date.parse('2026-11-28T03:00:00Z');

function deps(config: Config, logger: Logger = createLogger('silent')) {
  return {
    config,
    docker: new DockerAdapter({ timeoutMs: 1000 }),
    logger,
    safety: createSafety(config),
  };
}

describe('the default schedule', () => {
  const config = loadConfig({ env: { DOOM_OPS_STATE_DIR: mkdtempSync(join(tmpdir(), 'doomdefjobs-')) } });

  it('no enabled default job has a step that would be refused (destructive without approvedBy, unknown tool, bad input)', () => {
    const refused = config.schedule.jobs
      .filter((j) => j.enabled)
      .flatMap((j) =>
        j.steps
          .filter((s) => {
            const tool = findTool(s.tool);
            if (!tool?.input.safeParse(s.input).success) return true;
            return tool.risk === 'destructive' && !j.approvedBy;
          })
          .map((s) => `${j.name}: ${s.tool}`),
      );
    expect(refused).toEqual([]);
  });

  it('daily-backup only backs up; prune-backups is its own job and off by default', () => {
    const byName = Object.fromEntries(config.schedule.jobs.map((j) => [j.name, j]));
    expect(byName['daily-backup']).toMatchObject({ enabled: true });
    expect(byName['daily-backup']!.steps.map((s) => s.tool)).toEqual(['backup']);
    expect(byName['prune-backups']).toMatchObject({ enabled: false, steps: [{ tool: 'prune_backups' }] });
    expect(byName['prune-backups']!.approvedBy).toBeUndefined();
    // The weekly restore drill is on by default: health warns without a good one (backup.drillMaxAge).
    expect(byName['weekly-drill']).toMatchObject({ enabled: true, steps: [{ tool: 'drill_backup' }] });
    // The scheduler plans only what is enabled: daily-backup, weekly-drill and daily-digest.
    expect(new Scheduler(deps(config)).jobs).toBe(3);
  });

  it('an approver turns prune-backups on in their config file: it runs and is audited under their name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomdefjobs-'));
    const file = join(dir, 'doom-ops.yaml');
    // As config/default.yaml's comment says to.
    writeFileSync(
      file,
      `backup: { dir: ${join(dir, 'backups')} }
schedule:
  jobs:
    - { name: prune-backups, cron: "30 3 * * *", steps: [{ tool: prune_backups }], enabled: true, approvedBy: "alice, change 42" }
`,
    );
    const mine = loadConfig({ env: { DOOM_OPS_STATE_DIR: dir, DOOM_OPS_CONFIG: file } });
    const d = deps(mine);
    const state = new ScheduleState(dir, mine.project);
    state.claim('prune-backups', T0 + 1800_000); // last ran yesterday night at 03:30
    const s = new Scheduler(d, undefined, () => T0 + 86_400_000 + 1800_000 + 5000);
    s.start();
    for (let i = 0; i < 200 && state.history('prune-backups').length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    await s.stop();
    expect(state.history('prune-backups')).toEqual([expect.objectContaining({ result: 'succeeded' })]);
    const { entries } = await d.safety.audit.query({ tool: 'prune_backups' });
    expect(entries.find((e) => e.event === 'approved')).toMatchObject({
      approver: 'config:alice, change 42',
    });
  });

  it('a config that enables a destructive step without approvedBy is named at start, with the fix', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const mine = structuredClone(config);
    mine.schedule.jobs = mine.schedule.jobs.map((j) =>
      j.name === 'daily-backup' ? { ...j, steps: [...j.steps, { tool: 'prune_backups', input: {} }] } : j,
    );
    new Scheduler(deps(mine, pino({ level: 'warn' }, sink) as unknown as Logger));
    expect(lines.join('')).toMatch(
      /scheduled job daily-backup: step prune_backups is destructive and schedule.jobs\[daily-backup\].approvedBy is not set, so every run will be refused; have an approver name themselves in approvedBy, or set enabled: false/,
    );
    // A dry run deletes nothing: no warning for it.
    lines.length = 0;
    mine.schedule.jobs = mine.schedule.jobs.map((j) =>
      j.name === 'daily-backup' ? { ...j, steps: [{ tool: 'prune_backups', input: { dryRun: true } }] } : j,
    );
    new Scheduler(deps(mine, pino({ level: 'warn' }, sink) as unknown as Logger));
    expect(lines.join('')).toBe('');
  });
});
