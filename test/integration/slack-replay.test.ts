import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { RunningHttp } from '../../src/mcp/http.js';
import type { SlackBot } from '../../src/slack/app.js';
import { ACTION } from '../../src/slack/incidents.js';
import type { ToolContext } from '../../src/tools/context.js';
import { IncidentStore } from '../../src/watch/incident-store.js';
import { testContext } from '../helpers/context.js';
import { serveSlackBot } from '../helpers/slack-bot.js';
import { SlackStandIn } from '../helpers/slack-standin.js';
import { type TestStack, upStack, waitFor } from '../helpers/stack.js';

// Slack's replay window (issue 17.9): a signed request is accepted only within 5 minutes of our
// clock, in either direction, and the same signed request is processed once.

const SECRET = 'replay-signing-secret-0123456789';
const CHANNEL = 'COPS';
const slack = new SlackStandIn();
const stateDir = mkdtempSync(join(tmpdir(), 'doomslackreplay-'));
let stack: TestStack;
let ctx: ToolContext;
let bot: SlackBot;
let http: RunningHttp;
let seq = 0;

const now = () => Math.floor(Date.now() / 1000);

/** One signed request, exactly as Slack would send it: the same bytes can be sent again. */
function signed(body: string, ts = now()): { body: string; headers: Record<string, string> } {
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`,
    },
  };
}

async function send(req: ReturnType<typeof signed>) {
  const res = await fetch(`${http.url}/slack/events`, {
    method: 'POST',
    headers: req.headers,
    body: req.body,
  });
  return { status: res.status, text: await res.text() };
}

function slashBody(text: string, user: string): { body: string; id: string } {
  const id = `r${++seq}`;
  const body = new URLSearchParams({
    token: 'legacy',
    team_id: 'T1',
    channel_id: CHANNEL,
    channel_name: 'ops',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/doom',
    text,
    api_app_id: 'A1',
    response_url: `${slack.url}/response/${id}`,
    trigger_id: `t${seq}`,
  }).toString();
  return { body, id };
}

function buttonBody(actionId: string, value: string, user: string, messageTs: string): string {
  const payload = {
    type: 'block_actions',
    team: { id: 'T1' },
    user: { id: user, name: user.toLowerCase() },
    api_app_id: 'A1',
    token: 'legacy',
    container: { type: 'message', message_ts: messageTs, channel_id: CHANNEL },
    channel: { id: CHANNEL, name: 'ops' },
    message: { ts: messageTs, text: 'incident' },
    trigger_id: `t${++seq}`,
    response_url: `${slack.url}/response/r${seq}`,
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: `incident:${value}`,
        value,
        text: { type: 'plain_text', text: 'Restart nats' },
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

const restartApprovals = () =>
  ctx.safety.approvals.list().filter((r) => r.tool === 'restart_service' && r.requester === 'slack:UOPER');

beforeAll(async () => {
  await slack.start();
  stack = await upStack({ services: ['nats'] });
  const base = testContext(stack.project).config;
  const config: Partial<Config> = {
    roles: { ...base.roles, principals: { 'slack:UOPER': 'operator' } },
  };
  ctx = testContext(stack.project, undefined, config, { stateDir });
  ({ bot, http } = await serveSlackBot(ctx, slack, SECRET));
}, 180_000);

afterAll(async () => {
  await bot?.stop();
  await http?.close();
  await slack.stop();
  await stack?.down();
});

describe('Slack replay window', () => {
  it('refuses a signed request dated more than 5 minutes in the future; within 5 minutes it is served', async () => {
    const future = await send(signed(slashBody('help', 'UOPER').body, now() + 6 * 60));
    expect(future.status).toBe(401);
    expect(future.text).toMatch(/more than 5 minutes in the future/);
    const far = await send(signed(slashBody('help', 'UOPER').body, now() + 24 * 3600));
    expect(far.status).toBe(401);
    // Inside the window either way it is served (clocks differ a little).
    const soon = await send(signed(slashBody('help', 'UOPER').body, now() + 4 * 60));
    expect(soon.status).toBe(200);
    expect(soon.text).toContain('scale-agents <n>');
  });

  it('a replayed signed /doom restart creates exactly one approval request', async () => {
    const before = restartApprovals().length;
    const plans = () => slack.posted((c) => JSON.stringify(c.body).includes('doom_approve'));
    const postedBefore = plans().length;
    const { body, id } = slashBody('restart nats', 'UOPER');
    const request = signed(body);
    const first = await send(request);
    expect(first.status).toBe(200);
    await waitFor('the plan posted for approval', async () => plans().slice(postedBefore)[0]);
    await waitFor('the requester told', async () => slack.responsesTo(id)[0]);

    const replay = await send(request);
    expect(replay.status).toBe(409);
    expect(replay.text).toMatch(/already received and is processed only once/);
    expect(restartApprovals()).toHaveLength(before + 1);
    expect(plans()).toHaveLength(postedBefore + 1);
    expect(slack.responsesTo(id)).toHaveLength(1);
  });

  it('a replayed button click (Restart on an incident) does not act twice', async () => {
    const thread = '1700000500.000100';
    const at = new Date().toISOString();
    new IncidentStore(ctx.config.stateDir, stack.project).save({
      id: 'inc_replay',
      key: 'service:nats',
      service: 'nats',
      kinds: ['restart_loop'],
      title: 'nats is restarting',
      verdict: 'restart loop',
      evidence: [],
      deaths: 3,
      oomKills: 0,
      openedAt: at,
      updatedAt: at,
      resolvedAt: null,
      status: 'open',
      slack: { channel: CHANNEL, ts: thread },
    });
    const before = restartApprovals().length;
    const inThread = () => slack.posted((c) => c.body.thread_ts === thread);
    const click = signed(buttonBody(ACTION, 'inc_replay', 'UOPER', thread));
    expect((await send(click)).status).toBe(200);
    await waitFor('the restart plan posted in the incident thread', async () => inThread()[0]);
    expect(restartApprovals()).toHaveLength(before + 1);

    const replay = await send(click);
    expect(replay.status).toBe(409);
    expect(restartApprovals()).toHaveLength(before + 1);
    expect(inThread()).toHaveLength(1);
  });

  it("Slack's own retry of a delivery it already made (x-slack-retry-num) is acknowledged, not processed again", async () => {
    const { body, id } = slashBody('backups', 'UOPER');
    const request = signed(body);
    expect((await send(request)).status).toBe(200);
    await waitFor('the first answer', async () => slack.responsesTo(id).find((r) => r.response_type));
    const retry = await send({ ...request, headers: { ...request.headers, 'x-slack-retry-num': '1' } });
    expect(retry.status).toBe(200);
    expect(retry.text).toMatch(/processed only once/);
    expect(slack.responsesTo(id).filter((r) => r.response_type)).toHaveLength(1);
  });
});
