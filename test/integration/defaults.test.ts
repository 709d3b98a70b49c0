import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { type Approver, requestApproval } from '../../src/safety/approver.js';
import { runJobSteps } from '../../src/schedule/run-job.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cli, cliOk } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { OpenSearchStandIn } from '../helpers/opensearch-standin.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

// Defaults that work, on the real engine: the jobs doom-ops ships succeed as they are, and what the
// CLI prints is text (an executed approval, logs cut at their size cap, --since 0).
const RAW_JSON = /[{[]\s*"[^"\n]*"\s*:|"[A-Za-z_]+":\s*[[{"\d]/;
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-defaults-'));
const backupDir = mkdtempSync(join(tmpdir(), 'doombackup-defaults-'));
const os = new OpenSearchStandIn();
let stack: TestStack;
let config: Partial<Config>;

const ctx = (): ToolContext => testContext(stack.project, undefined, config, { stateDir });
const env = () => ({ DOOM_OPS_STATE_DIR: stateDir, DOOM_OPS_BACKUP_DIR: backupDir });

beforeAll(async () => {
  await os.start();
  os.indices.set('episodes-2026.11', { status: 'open', docs: 12 });
  stack = await upStack({ services: ['nats', 'mongodb', 'agent'], env: { ORCHESTRATOR_MODE: 'normal' } });
  const base = testContext(stack.project).config;
  // Only where the stand-ins are: the schedule itself is the shipped default.
  config = {
    backup: {
      ...base.backup,
      dir: backupDir,
      opensearch: { ...base.backup.opensearch, url: os.url },
      duckdb: { ...base.backup.duckdb, file: '/data/play_logs.duckdb' },
    },
  };
  await waitFor('agent running', async () => (await containerOf(stack.project, 'agent')).State.Running);
  // An agent play log for the duckdb component, and a MongoDB collection for mongodump.
  const dir = mkdtempSync(join(tmpdir(), 'duckput-'));
  const db = await DuckDBInstance.create(join(dir, 'play_logs.duckdb'));
  const c = await db.connect();
  await c.run('create table episodes as select range as id from range(10)');
  c.closeSync();
  db.closeSync();
  const agent = await containerOf(stack.project, 'agent');
  await execa('docker', ['cp', join(dir, 'play_logs.duckdb'), `${agent.Id}:/data/play_logs.duckdb`]);
  const mongo = await containerOf(stack.project, 'mongodb');
  await execa('docker', [
    'exec',
    mongo.Id,
    'sh',
    '-c',
    'mkdir -p /data/db/clau-doom && echo "{\\"_id\\":1}" > /data/db/clau-doom/episodes.jsonl',
  ]);
  await rm(dir, { recursive: true, force: true });
}, 180_000);

afterAll(async () => {
  await stack?.down();
  await os.stop();
  await rm(backupDir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

describe('the default scheduled jobs', () => {
  it('every enabled default job succeeds as shipped, run by the scheduler step runner', async () => {
    const c = ctx();
    const enabled = c.config.schedule.jobs.filter((j) => j.enabled);
    expect(enabled.map((j) => j.name)).toEqual(['daily-backup', 'weekly-drill', 'daily-digest']);
    for (const job of enabled) {
      const r = await runJobSteps(
        { config: c.config, docker: c.docker, logger: createLogger('silent'), safety: c.safety },
        job,
        new AbortController().signal,
      );
      expect(r, `${job.name}: ${r.reason}`).toMatchObject({ ok: true });
      expect(r.steps.every((s) => s.ok)).toBe(true);
    }
    // The backup it made is complete and verified, and the drill proved it restorable.
    const list = (await invokeTool(findTool('list_backups')!, c, {})) as {
      backups: Array<{ id: string; state: string; phase: string; verified: boolean | null }>;
    };
    expect(list.backups).toEqual([
      expect.objectContaining({ state: 'complete', phase: 'Completed', verified: true }),
    ]);
    const health = (await invokeTool(findTool('stack_health')!, c, { deep: false })) as {
      backups: { lastGoodDrill: { backup: string } | null };
    };
    expect(health.backups.lastGoodDrill?.backup).toBe(list.backups[0]!.id);
  }, 180_000);
});

describe('CLI text output', () => {
  it('`approve` prints the executed request as the tool text, not `result: {json}`', async () => {
    let id = '';
    const outOfBand: Approver = async (req) => {
      const c = ctx();
      id = requestApproval(c.safety, c.config, req).id;
      return { approved: false, code: 'approval_required', reason: `approval_required: ${id}` };
    };
    await expect(
      invokeTool(
        findTool('prune_backups')!,
        { ...ctx(), principal: { id: 'mcp:agent', surface: 'mcp' }, approver: outOfBand },
        {},
      ),
    ).rejects.toThrow(/approval_required/);
    const r = await cli(['approve', id, '--project', stack.project], env());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_JSON);
    expect(r.stdout).toMatch(new RegExp(`^${id}: done \\(by cli:`));
    expect(r.stdout).toMatch(/\nresult:\n {2}retention: 7 daily, 4 weekly per component and target/);
  });

  it('`logs --max-bytes 1` says the lines were cut at the size cap, not "no matching lines"', async () => {
    const json = (await cliOk(['logs', 'nats', '--json', '--project', stack.project])).json<{
      lines: unknown[];
    }>();
    expect(json.lines.length).toBeGreaterThan(0);
    const r = await cliOk(['logs', 'nats', '--max-bytes', '1', '--project', stack.project]);
    expect(r.stdout).not.toMatch(/no matching lines/);
    expect(r.stdout).toMatch(/^-- \d+ matching line\(s\) cut at the size cap of 1 byte\(s\)/m);
    // A cap that keeps the newest line only: the rest are counted as cut. (The longest line, not the
    // newest: nats may log another line between the two calls.)
    const newest = (json.lines as Array<{ text: string }>)
      .map((l) => l.text)
      .reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a));
    const some = await cliOk([
      'logs',
      'nats',
      '--max-bytes',
      String(Buffer.byteLength(newest) + 1),
      '--project',
      stack.project,
    ]);
    expect(some.stdout).toMatch(/older matching line\(s\) cut at the size cap/);
  });

  it('`--since 0` is unix second 0: everything from the beginning', async () => {
    const first = async (args: string[]) =>
      (await cliOk(['logs', 'nats', '--tail', '5000', ...args, '--json', '--project', stack.project])).json<{
        lines: Array<{ time: string; text: string }>;
      }>().lines[0];
    const r = await cli(['logs', 'nats', '--since', '0', '--project', stack.project]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await first(['--since', '0'])).toEqual(await first([]));
  });
});
