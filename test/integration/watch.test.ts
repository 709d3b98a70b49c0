import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { type RunningHttp, serveHttp } from '../../src/mcp/http.js';
import { EventStore } from '../../src/recorder/event-store.js';
import { EventRecorder } from '../../src/recorder/recorder.js';
import { createSlackBot, type SlackBot } from '../../src/slack/app.js';
import { ACTION, MUTE, RUNBOOK, slackIncidentNotifier } from '../../src/slack/incidents.js';
import type { Incident } from '../../src/watch/incident-store.js';
import { IncidentWatcher } from '../../src/watch/watcher.js';
import { testContext } from '../helpers/context.js';
import { type ApiCall, clickButton, SlackStandIn } from '../helpers/slack-standin.js';
import {
  COMPOSE_FILE,
  containerOf,
  orchestratorExhausted,
  type TestStack,
  uniqueProject,
  upStack,
  waitFor,
} from '../helpers/stack.js';

// The incident watcher on the real engine, telling a local Slack stand-in; buttons are clicked
// through the bot's real signed endpoint.
const SECRET = 'watch-signing-secret';
const slack = new SlackStandIn();
const stateDir = mkdtempSync(join(tmpdir(), 'doomwatch-'));

interface Watched {
  project: string;
  channel: string;
  stack?: TestStack;
  recorder: EventRecorder;
  watcher: IncidentWatcher;
  bot: SlackBot;
  http: RunningHttp;
}
const watched: Watched[] = [];
let oomWatched: Watched | undefined;

/** What `doom-ops serve` wires: recorder -> watcher -> Slack, and the bot for the buttons. */
async function watch(channel: string, watchConfig: Partial<Config['watch']>): Promise<Watched> {
  const project = uniqueProject('dowatch');
  const base = testContext(project).config;
  const ctx = testContext(
    project,
    undefined,
    {
      // The test stacks run a few services only: missing ones are not what these tests are about.
      watch: {
        ...base.watch,
        channel,
        checkEvery: 1000,
        recoverAfter: 3000,
        missingAfter: 600_000,
        ...watchConfig,
      },
      roles: { ...base.roles, principals: { 'slack:UOPER': 'operator' } },
    },
    { stateDir },
  );
  const bot = createSlackBot(ctx, {
    signingSecret: SECRET,
    botToken: 'xoxb-w',
    apiUrl: `${slack.url}/api/`,
    botId: 'BBOT',
    botUserId: 'UBOT',
  });
  const http = await serveHttp(
    { ...ctx, principal: { id: 'mcp:http', surface: 'mcp' } },
    { host: '127.0.0.1', port: 0, token: 'tok', routes: { '/slack/events': bot.requestListener! } },
  );
  const store = EventStore.forProject(stateDir, project, 1024 * 1024);
  const recorder = new EventRecorder({ docker: ctx.docker, store, project, logger: createLogger('silent') });
  await recorder.start();
  const watcher = new IncidentWatcher(ctx, slackIncidentNotifier(bot.client, channel));
  recorder.onEvent((e) => watcher.onEvent(e));
  watcher.start();
  const w = { project, channel, recorder, watcher, bot, http };
  watched.push(w);
  return w;
}

const inChannel = (channel: string) => (c: ApiCall) => c.body.channel === channel;
const topLevel = (channel: string) =>
  slack.posted((c) => c.body.channel === channel && c.body.thread_ts === undefined);
const incidentOf = (w: Watched): Incident | undefined => w.watcher.store.list().at(-1);
const click = (w: Watched, actionId: string, inc: Incident, user: string) =>
  clickButton(`${w.http.url}/slack/events`, SECRET, {
    actionId,
    value: inc.id,
    user,
    channel: w.channel,
    messageTs: inc.slack!.ts,
    responseUrl: `${slack.url}/response/${actionId}-${user}`,
  });

beforeAll(async () => {
  await slack.start();
});

afterAll(async () => {
  for (const w of watched) {
    await w.watcher.stop();
    await w.recorder.stop();
    await w.http.close();
    await w.bot.stop();
    await w.stack?.down();
  }
  await slack.stop();
}, 120_000);

describe('incident watcher', () => {
  it('an OOM loop is one Slack message with the OOM verdict, edited as restarts continue, runbook in the thread, recovery noted', async () => {
    const w = await watch('COOM', { rateLimit: { messages: 10, per: 60_000 } });
    oomWatched = w;
    w.stack = await upStack({ project: w.project, services: ['orchestrator'] });
    await orchestratorExhausted(w.project);
    const inc = await waitFor(
      'the incident to have every death and the policy giving up',
      async () => {
        const i = incidentOf(w);
        return i?.kinds.includes('gave_up') && i.deaths >= 6 && i.slack ? i : undefined;
      },
      30_000,
    );
    expect(inc.kinds).toContain('oom');
    expect(inc.oomKills).toBe(inc.deaths);
    expect(inc.verdict).toMatch(/OOM killer/);
    const posts = topLevel('COOM');
    expect(posts).toHaveLength(1);
    expect(String(posts[0]!.body.text)).toMatch(/OOM-killed/);
    const ts = inc.slack!.ts;
    await waitFor('the message edited to the final count', async () =>
      slack.updates(ts).some((u) => String(u.body.text).includes(`${inc.oomKills} OOM kill(s)`)),
    );
    expect(slack.updates(ts).length).toBeGreaterThanOrEqual(1);

    expect(await click(w, RUNBOOK, inc, 'UVIEW')).toBe(200);
    const findings = await waitFor('runbook findings in the thread', async () =>
      slack.posted((c) => c.body.thread_ts === ts && JSON.stringify(c.body).includes('oom-kill')).at(0),
    );
    expect(JSON.stringify(findings.body.blocks)).toMatch(/OOM/);

    // The suggested action goes through the approval path: a plan with Approve / Cancel in the thread.
    expect(await click(w, ACTION, inc, 'UOPER')).toBe(200);
    const plan = await waitFor('the restart plan in the thread', async () =>
      slack.posted((c) => c.body.thread_ts === ts && JSON.stringify(c.body).includes('doom_approve')).at(0),
    );
    expect(String(plan.body.text)).toMatch(/restart_service/);

    // Fixed: the same service comes back healthy; the watcher notes it in the thread.
    await execa('docker-compose', ['-p', w.project, '-f', COMPOSE_FILE, 'up', '-d', 'orchestrator'], {
      env: { ...process.env, ORCHESTRATOR_MODE: 'normal' },
    });
    const recovered = await waitFor(
      'recovery in the thread',
      async () =>
        slack.posted((c) => c.body.thread_ts === ts && String(c.body.text).includes('recovered')).at(0),
      60_000,
    );
    expect(String(recovered.body.text)).toMatch(/orchestrator is (healthy|running) again/);
    expect(w.watcher.store.get(inc.id)?.status).toBe('resolved');
    expect(topLevel('COOM')).toHaveLength(1);
  }, 240_000);

  it('a restart loop faster than the rate limit stays within it, and the mute button silences the incident', async () => {
    const limit = { messages: 2, per: 20_000 };
    const w = await watch('CCRASH', { rateLimit: limit, restartLoop: { count: 3, window: 600_000 } });
    w.stack = await upStack({
      project: w.project,
      services: ['orchestrator'],
      env: { ORCHESTRATOR_MODE: 'crash' },
    });
    await orchestratorExhausted(w.project);
    const inc = await waitFor('every death seen', async () => {
      const i = incidentOf(w);
      return i && i.deaths >= 4 && i.slack ? i : undefined;
    });
    // At least four changes (post at the third death, then more deaths and the policy giving up)...
    expect(inc.kinds).toEqual(expect.arrayContaining(['restart_loop', 'gave_up']));
    const watcherCalls = () =>
      slack.calls.filter(inChannel('CCRASH')).filter((c) => !JSON.stringify(c.body).includes('muted until'));
    // ...but no more Slack calls than the limit allows in its window.
    expect(watcherCalls().length).toBeLessThanOrEqual(limit.messages);
    expect(topLevel('CCRASH')).toHaveLength(1);

    expect(await click(w, MUTE, inc, 'UOPER')).toBe(200);
    await waitFor('the message shows the mute', async () =>
      slack.updates(inc.slack!.ts).some((u) => JSON.stringify(u.body).includes('muted until')),
    );
    expect(incidentOf(w)?.mutedUntil).toBeDefined();
    const before = watcherCalls().length;
    // Past the rate-limit window, so only the mute can keep the watcher quiet, crash it again.
    await new Promise((r) =>
      setTimeout(r, Math.max(0, watcherCalls()[0]!.at + limit.per + 500 - Date.now())),
    );
    const deaths = incidentOf(w)!.deaths;
    await execa('docker', ['start', (await containerOf(w.project, 'orchestrator')).Id]);
    await waitFor(
      'the watcher to count the new death',
      async () => (incidentOf(w)?.deaths ?? 0) > deaths,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(watcherCalls().length).toBe(before);
  }, 240_000);

  it('a volume over its disk threshold is an incident, resolved once it is back under', async () => {
    const w = oomWatched!;
    const mongo = await containerOf(w.project, 'mongodb');
    const sh = (cmd: string) => execa('docker', ['exec', mongo.Id, 'sh', '-c', cmd]);
    await sh('dd if=/dev/zero of=/data/db/big bs=1024 count=1024 2>/dev/null');
    const base = testContext(w.project).config;
    const ctx = testContext(
      w.project,
      undefined,
      {
        disk: { ...base.disk, volumes: { 'mongodb-data': 512 * 1024 } },
        watch: { ...base.watch, channel: 'CDISK', checkEvery: 600_000, diskEvery: 1000 },
      },
      { stateDir: mkdtempSync(join(tmpdir(), 'doomwatchdisk-')) },
    );
    const watcher = new IncidentWatcher(ctx, slackIncidentNotifier(w.bot.client, 'CDISK'));
    watcher.start();
    try {
      const inc = await waitFor('the disk incident', async () =>
        watcher.store.list().find((i) => i.key === 'disk:mongodb-data' && i.slack),
      );
      expect(inc.verdict).toMatch(/volume mongodb-data uses 1\.0MiB, over its 512KiB threshold/);
      expect(topLevel('CDISK')).toHaveLength(1);
      await sh('rm /data/db/big');
      await waitFor('the disk incident resolved', async () =>
        slack
          .posted((c) => c.body.thread_ts === inc.slack!.ts && String(c.body.text).includes('recovered'))
          .at(0),
      );
    } finally {
      await watcher.stop();
    }
  }, 120_000);
});
