import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { RunningHttp } from '../../src/mcp/http.js';
import { requestApproval } from '../../src/safety/approver.js';
import type { SlackBot } from '../../src/slack/app.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { ToolRunner } from '../../src/tools/runner.js';
import { testContext } from '../helpers/context.js';
import { serveSlackBot } from '../helpers/slack-bot.js';
import { SlackStandIn, slashCommand } from '../helpers/slack-standin.js';
import { orchestratorExhausted, type TestStack, upStack, waitFor } from '../helpers/stack.js';

const SECRET = 'test-signing-secret-0123456789';
const CHANNEL = 'COPS';
const APPROVALS = 'CAPPROVALS';
const slack = new SlackStandIn();
const stateDir = mkdtempSync(join(tmpdir(), 'doomslack-'));
const backupDir = mkdtempSync(join(tmpdir(), 'doomslackbk-'));
let stack: TestStack;
let ctx: ToolContext;
let bot: SlackBot;
let http: RunningHttp;
let seq = 0;

function sign(body: string, ts: number, secret = SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
}

async function post(
  body: string,
  type: string,
  opts: { ts?: number; secret?: string; headers?: Record<string, string> } = {},
) {
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const started = performance.now();
  const res = await fetch(`${http.url}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': type,
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': sign(body, ts, opts.secret),
      ...opts.headers,
    },
    body,
  });
  return { status: res.status, text: await res.text(), ms: performance.now() - started };
}

/** A signed slash command as Slack sends it; returns the ack and the response_url id. */
async function slash(text: string, user: string, opts: { ts?: number; secret?: string } = {}) {
  const id = `r${++seq}`;
  const ack = await slashCommand(
    `${http.url}/slack/events`,
    opts.secret ?? SECRET,
    { text, user, channel: CHANNEL, responseUrl: `${slack.url}/response/${id}` },
    opts.ts,
  );
  return { ...ack, id };
}

async function click(actionId: string, approvalId: string, user: string, messageTs: string) {
  const id = `r${++seq}`;
  const payload = {
    type: 'block_actions',
    team: { id: 'T1' },
    user: { id: user, name: user.toLowerCase() },
    api_app_id: 'A1',
    token: 'legacy',
    container: { type: 'message', message_ts: messageTs, channel_id: CHANNEL },
    channel: { id: CHANNEL, name: 'ops' },
    message: { ts: messageTs, text: 'plan' },
    trigger_id: `t${seq}`,
    response_url: `${slack.url}/response/${id}`,
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: `approval:${approvalId}`,
        value: approvalId,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return { ...(await post(body, 'application/x-www-form-urlencoded')), id };
}

const responded = (id: string, timeout = 60_000) =>
  waitFor(
    `response to ${id}`,
    async () => slack.responsesTo(id).find((r) => r.response_type !== undefined || r.text),
    timeout,
    50,
  );

const blockText = (m: Record<string, unknown>) => JSON.stringify(m.blocks ?? []);

beforeAll(async () => {
  await slack.start();
  // Before any command: memberships are cached for slack.userGroupsTtl once looked up.
  slack.groups.set('SOPS', ['UGROUP']);
  stack = await upStack();
  const base = testContext(stack.project).config;
  const config: Partial<Config> = {
    roles: {
      ...base.roles,
      principals: { 'slack:UOPER': 'operator', 'slack:UOPER2': 'operator', 'slack:UAPPR': 'approver' },
    },
    slack: { ...base.slack, approvalsChannel: APPROVALS, userGroups: { SOPS: 'operator' } },
    backup: { ...base.backup, dir: backupDir, volumes: ['nats-data'] },
  };
  // With serve's worker pool, as `doom-ops serve` runs the bot.
  ctx = {
    ...testContext(stack.project, undefined, config, { stateDir }),
    runner: new ToolRunner({ workers: 4, queue: 1000 }),
  };
  ({ bot, http } = await serveSlackBot(ctx, slack, SECRET));
  await orchestratorExhausted(stack.project);
}, 180_000);

afterAll(async () => {
  await bot?.stop();
  await http?.close();
  await slack.stop();
  await stack?.down();
  await rm(backupDir, { recursive: true, force: true });
});

describe('slash commands over the signed HTTP endpoint', () => {
  it('a valid command is acked within 3 s and its result goes to response_url; bad signatures and stale timestamps get 401', async () => {
    const ok = await slash('health', 'UVIEW');
    expect(ok.status).toBe(200);
    expect(ok.ms).toBeLessThan(3000);
    expect(ok.text).toContain('working on it');
    const result = await responded(ok.id);
    expect(result.response_type).toBe('in_channel');

    expect((await slash('health', 'UVIEW', { secret: 'wrong-secret' })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await slash('health', 'UVIEW', { ts: stale })).status).toBe(401);
  });

  it('/doom health names every service in blocks, with a text fallback', async () => {
    const r = await slash('health', 'UVIEW');
    const m = await responded(r.id);
    expect(typeof m.text).toBe('string');
    const blocks = m.blocks as Array<{ type: string }>;
    expect(blocks.length).toBeGreaterThan(1);
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const svc of ['nats', 'opensearch', 'mongodb', 'orchestrator', 'agent', 'dashboard', 'vizdoom']) {
      expect(blockText(m)).toContain(svc);
      expect(String(m.text)).toContain(svc);
    }
  });

  it('/doom why orchestrator gives the OOM verdict with its evidence', async () => {
    const r = await slash('why orchestrator', 'UVIEW');
    const m = await responded(r.id);
    expect(blockText(m)).toMatch(/verdict: \*oom/i);
    expect(String(m.text)).toMatch(/orchestrator: OOM/);
    expect(String(m.text)).toMatch(/evidence:/);
    expect(String(m.text)).toMatch(/137/);
  });

  it("a viewer's scale is refused naming the needed role; an unknown subcommand shows help; bad input shows usage", async () => {
    const r = await slash('scale agent 4', 'UVIEW');
    const m = await responded(r.id);
    expect(String(m.text)).toMatch(/needs the operator role/);
    expect(m.response_type).toBe('ephemeral');

    const unknown = await slash('frobnicate now', 'UVIEW');
    expect(unknown.status).toBe(200);
    expect(unknown.text).toContain('unknown command');
    expect(unknown.text).toContain('scale-agents <n>');

    const bad = await slash('scale agent lots', 'UOPER');
    expect(bad.text).toContain('usage: /doom scale <service> <n>');
  });

  it('a member of a configured user group gets its role', async () => {
    const r = await slash('backup volumes', 'UGROUP');
    await waitFor('backup message updated', async () =>
      slack.calls.find((c) => c.method === 'chat.update' && JSON.stringify(c.body).includes('volumes')),
    );
    expect(slack.responsesTo(r.id).some((x) => /needs the/.test(String(x.text)))).toBe(false);
  });

  it('50 concurrent commands are all acknowledged within 3 s', async () => {
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, i) => slash(i % 2 ? 'health' : 'backups', 'UVIEW')),
    );
    expect(acks.every((a) => a.status === 200)).toBe(true);
    expect(Math.max(...acks.map((a) => a.ms))).toBeLessThan(3000);
    await Promise.all(acks.map((a) => responded(a.id, 120_000)));
  }, 180_000);
});

describe('approvals with buttons', () => {
  let backupId: string;
  let planTs: string;
  let approvalId: string;

  beforeAll(async () => {
    backupId = ((await invokeTool(findTool('backup')!, ctx, { component: 'volumes' })) as { id: string }).id;
  }, 120_000);

  const planFor = async (user: string) => {
    const plans = () => slack.posted((c) => blockText(c.body).includes('doom_approve'));
    const before = plans().length;
    const r = await slash(`restore volumes ${backupId}`, user);
    const plan = await waitFor('plan posted', async () => plans().slice(before).at(-1));
    const id = /apr_[0-9a-f]{12}/.exec(JSON.stringify(plan.body))![0];
    return { r, ts: await waitFor('plan ts', async () => tsOf(plan)), id };
  };
  // The stand-in numbers messages in order; the plan's ts is the one it answered.
  const tsOf = (c: { body: Record<string, unknown> }) =>
    `${1_700_000_000 + slack.calls.filter((x) => x.method === 'chat.postMessage').indexOf(c as never) + 1}.000100`;

  it("an operator's restore posts the plan with Approve / Cancel; neither the requester nor another non-approver can approve it", async () => {
    const p = await planFor('UOPER');
    planTs = p.ts;
    approvalId = p.id;
    expect(String((await responded(p.r.id)).text)).toMatch(/posted in the channel for approval/);
    const plan = slack.posted((c) => JSON.stringify(c.body).includes(approvalId))[0]!;
    expect(blockText(plan.body)).toContain('"confirm"');
    expect(blockText(plan.body)).toContain('doom_cancel');

    const other = await click('doom_approve', approvalId, 'UOPER2', planTs);
    expect(other.status).toBe(200);
    const refusal = await responded(other.id);
    expect(String(refusal.text)).toMatch(/needs the approver role/);
    // An operator cannot approve their own destructive call either.
    const own = await click('doom_approve', approvalId, 'UOPER', planTs);
    expect(String((await responded(own.id)).text)).toMatch(
      /approving apr_[0-9a-f]{12} needs the approver role/,
    );
    expect(ctx.safety.approvals.get(approvalId).status).toBe('pending');
  });

  it('the requester may cancel their own request; it is audited as denied by them via the Slack button', async () => {
    const p = await planFor('UOPER');
    const cancel = await click('doom_cancel', p.id, 'UOPER', p.ts);
    expect(cancel.status).toBe(200);
    await waitFor('cancelled', async () => ctx.safety.approvals.get(p.id).status === 'denied');
    const { entries } = await ctx.safety.audit.query({ tool: 'restore' });
    expect(entries).toContainEqual(
      expect.objectContaining({
        event: 'denied',
        approvalId: p.id,
        approver: 'slack:UOPER',
        via: 'Slack button',
      }),
    );
  });

  it("an approver's click executes it and replaces the buttons; a second click does nothing", async () => {
    const ok = await click('doom_approve', approvalId, 'UAPPR', planTs);
    expect(ok.ms).toBeLessThan(3000);
    const done = await waitFor(
      'plan message replaced by the result',
      async () => slack.updates(planTs).find((u) => /done/.test(String(u.body.text))),
      120_000,
    );
    expect(blockText(done.body)).not.toContain('doom_approve');
    expect(ctx.safety.approvals.get(approvalId).status).toBe('done');
    const succeeded = async () =>
      (await ctx.safety.audit.query({ tool: 'restore' })).entries.filter((e) => e.event === 'succeeded')
        .length;
    const runs = await succeeded();

    const again = await click('doom_approve', approvalId, 'UAPPR', planTs);
    expect(String((await responded(again.id)).text)).toMatch(/is done, not pending/);
    expect(await succeeded()).toBe(runs);
    // Slack user and channel are in the audit log.
    const { entries } = await ctx.safety.audit.query({ tool: 'restore' });
    expect(entries.some((e) => e.principal === 'slack:UOPER' && e.channel === CHANNEL)).toBe(true);
    expect(
      entries.some((e) => e.event === 'approved' && e.approver === 'slack:UAPPR' && e.via === 'Slack button'),
    ).toBe(true);
  }, 180_000);

  it('an expired approval is refused', async () => {
    const p = await planFor('UOPER');
    const record = ctx.safety.approvals.get(p.id);
    ctx.safety.approvals.save({ ...record, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const late = await click('doom_approve', p.id, 'UAPPR', p.ts);
    expect(String((await responded(late.id)).text)).toMatch(/is expired/);
    expect(ctx.safety.approvals.get(p.id).status).toBe('expired');
  });

  it('an approval requested by an MCP caller without elicitation is posted to the approvals channel', async () => {
    const record = requestApproval(ctx.safety, ctx.config, {
      tool: 'prune_backups',
      input: { dryRun: false },
      plan: { summary: 'delete 0 backups', steps: ['nothing'], dataAtRisk: [], fingerprint: 'x' },
      principal: { id: 'mcp:http', surface: 'mcp' },
      project: stack.project,
    });
    const posted = await waitFor(
      'approval posted',
      async () =>
        slack.posted((c) => c.body.channel === APPROVALS && JSON.stringify(c.body).includes(record.id))[0],
    );
    expect(blockText(posted.body)).toContain('doom_approve');
  });
});

describe('questions in mentions', () => {
  it('a mention asking why a service restarted gets a threaded answer with the verdict; a retry is ignored', async () => {
    const event = {
      token: 'legacy',
      team_id: 'T1',
      api_app_id: 'A1',
      type: 'event_callback',
      event_id: 'Ev0001',
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'app_mention',
        user: 'UVIEW',
        text: '<@UBOT> why did orch restart?',
        ts: '1700000999.000200',
        channel: CHANNEL,
        event_ts: '1700000999.000200',
      },
    };
    const body = JSON.stringify(event);
    const first = await post(body, 'application/json');
    expect(first.status).toBe(200);
    const answer = await waitFor(
      'threaded answer',
      async () => slack.posted((c) => c.body.thread_ts === '1700000999.000200')[0],
    );
    expect(String(answer.body.text)).toMatch(/orchestrator: OOM/);
    expect(String(answer.body.text)).toMatch(
      /evidence: `explain_restarts\(service=orchestrator\): oom_killed/,
    );
    const retry = await post(body, 'application/json', {
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect(retry.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.posted((c) => c.body.thread_ts === '1700000999.000200')).toHaveLength(1);
  });
});
