import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleState } from '../../src/schedule/state.js';
import { CLI, cliOk } from '../helpers/cli.js';
import { SlackStandIn } from '../helpers/slack-standin.js';
import { type TestStack, upStack } from '../helpers/stack.js';

// Two `doom-ops serve` processes on one state directory, with test-only cron expressions seconds
// apart: every slot runs once, runs never overlap, and a failing job is reported to Slack.
const slack = new SlackStandIn();
const stateDir = mkdtempSync(join(tmpdir(), 'doomsched-'));
const backupDir = mkdtempSync(join(tmpdir(), 'doomschedbk-'));
const configFile = join(stateDir, 'config.yaml');
const CHANNEL = 'CSCHED';
let stack: TestStack;
const servers: ResultPromise[] = [];
const serverLogs: string[] = [];

beforeAll(async () => {
  await slack.start();
  stack = await upStack({ services: ['nats'] });
  writeFileSync(
    configFile,
    `backup: { dir: ${backupDir}, volumes: [nats-data] }
schedule:
  channel: ${CHANNEL}
  jobs:
    - { name: fast-backup, cron: "*/3 * * * * *", steps: [{ tool: backup, input: { component: volumes } }], report: failures }
    - { name: broken-backup, cron: "*/5 * * * * *", steps: [{ tool: backup, input: { component: mongodb } }], report: failures }
`,
  );
  const env = {
    ...process.env,
    DOOM_OPS_CONFIG: configFile,
    DOOM_OPS_STATE_DIR: stateDir,
    SLACK_SIGNING_SECRET: 'sched-secret',
    SLACK_BOT_TOKEN: 'xoxb-sched',
    SLACK_API_URL: `${slack.url}/api/`,
    SLACK_BOT_ID: 'BBOT',
    SLACK_BOT_USER_ID: 'UBOT',
  };
  for (let i = 0; i < 2; i++) {
    const p = execa(
      'node',
      [CLI, 'serve', '--no-auth', '--port', '0', '--no-record', '--project', stack.project],
      {
        env,
        reject: false,
      },
    );
    servers.push(p);
  }
  // Let a few slots pass with both running (a backup into restic takes a few seconds here, and the
  // two jobs share the stack lock).
  await new Promise((r) => setTimeout(r, 30_000));
  for (const s of servers) s.kill('SIGTERM');
  serverLogs.push(...(await Promise.all(servers)).map((r) => String(r.stderr)));
}, 120_000);

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await slack.stop();
  await stack?.down();
  await rm(backupDir, { recursive: true, force: true });
});

describe('scheduler with two doom-ops processes', () => {
  it('runs the backup job once per slot and never twice at once', async () => {
    // Both processes really ran the scheduler the whole time.
    expect(serverLogs).toHaveLength(2);
    for (const log of serverLogs) expect(log).toMatch(/serving .*2 scheduled job\(s\)/);
    const runs = new ScheduleState(stateDir, stack.project).history('fast-backup');
    const ran = runs.filter((r) => r.result !== 'skipped');
    // At least two runs of one job, from either process (each backup into restic takes seconds).
    expect(ran.length).toBeGreaterThanOrEqual(2);
    // Once per slot: no slot appears twice in the history.
    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    // Never twice at once: sorted by start, each run starts after the previous one finished.
    const sorted = [...ran].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (let i = 1; i < sorted.length; i++)
      expect(Date.parse(sorted[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(sorted[i - 1]!.finishedAt));
    expect(ran.every((r) => r.result === 'succeeded')).toBe(true);
    // Each slot is a real */3 s slot, and the backups exist.
    for (const r of ran) expect(new Date(r.slot).getUTCSeconds() % 3).toBe(0);
    const list = (
      await cliOk(['backups', '--json', '--project', stack.project], {
        DOOM_OPS_CONFIG: configFile,
        DOOM_OPS_STATE_DIR: stateDir,
      })
    ).json<{
      backups: Array<{ state: string; kind: string | null; phase: string | null }>;
    }>();
    // (broken-backup's Failed backups are listed too, with their phase.)
    expect(list.backups.filter((b) => b.kind === 'volumes' && b.phase === 'Completed').length).toBe(
      ran.length,
    );
  });

  it('reports a failed scheduled backup to Slack with the reason', () => {
    const failures = slack.calls.filter(
      (c) =>
        c.method === 'chat.postMessage' && String(c.body.text).startsWith('scheduled broken-backup failed'),
    );
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]!.body.channel).toBe(CHANNEL);
    expect(String(failures[0]!.body.text)).toMatch(/backup: .*mongodb/);
    // report: failures — successful fast-backup runs are not posted.
    // (Skipped slots, while the previous run still goes, are posted: they are not failures.)
    const posted = slack.calls.filter((c) => String(c.body.text).startsWith('scheduled fast-backup failed'));
    expect(posted.map((c) => String(c.body.text))).toEqual([]);
  });

  it('`doom-ops schedule` shows each job with its next and last run', async () => {
    const r = await cliOk(['schedule', '--project', stack.project], {
      DOOM_OPS_CONFIG: configFile,
      DOOM_OPS_STATE_DIR: stateDir,
    });
    expect(r.stdout).toMatch(
      // The last slot may have been skipped (the previous run still going, or cut short when the
      // processes were stopped): skipped, never failed.
      /fast-backup\s+\*\/3 \* \* \* \* \*\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+(succeeded|skipped: )/,
    );
    expect(r.stdout).toMatch(/broken-backup .* (failed: backup: |skipped: )/);
    const json = (
      await cliOk(['schedule', '--json', '--project', stack.project], {
        DOOM_OPS_CONFIG: configFile,
        DOOM_OPS_STATE_DIR: stateDir,
      })
    ).json<{
      jobs: Array<{ name: string; next: string; last: { result: string } | null }>;
    }>();
    const fast = json.jobs.find((j) => j.name === 'fast-backup')!;
    expect(Date.parse(fast.next)).toBeGreaterThan(Date.now() - 1000);
    expect(['succeeded', 'skipped']).toContain(fast.last?.result);
  });
});
