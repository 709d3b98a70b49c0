import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mapLimit, sleep } from '../src/util/concurrency.js';
import { startServe } from '../test/helpers/serve.js';
import { SlackStandIn, type SlashAck, slashCommand } from '../test/helpers/slack-standin.js';
import { makeStack, removeAll, round, serveNodeArgs, settle } from './lib.js';

const SECRET = 'bench-signing-secret-0123456789';
const CHANNEL = 'CBENCH';

export interface BurstResult {
  commands: number;
  concurrency: number;
  containers: number;
  acks: { over3s: number; p50Ms: number; p99Ms: number; maxMs: number; non200: number };
  /** The five slowest acks: which command (in sending order) and its latency. */
  slowest: Array<{ command: number; ms: number }>;
  /** response_url answers that arrived, and how long the last one took after the burst began. */
  answered: number;
  lastAnswerMs: number;
  /** serve's resident memory before the burst and its peak (VmHWM) after, in MB. */
  rssBeforeMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
  /** The machine's 1-minute load average when the burst began (after waiting for it to settle). */
  loadAverage1m: number;
  /** serve's event-loop delay over its life (its /healthz), and this harness's during the burst, in ms. */
  serveEventLoopMs: unknown;
  harnessEventLoopMs: { p99: number; max: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : Number.NaN;
}

/**
 * Runs `doom-ops serve` with Slack pointed at a stand-in on 127.0.0.1, against an existing project,
 * and sends `commands` signed `/doom <text>` at most `concurrency` at a time; waits (up to
 * `answerTimeoutMs`) for every response_url answer. Returns the ack latencies and serve's memory.
 */
export async function slackBurst(opts: {
  project: string;
  containers: number;
  commands: number;
  concurrency: number;
  text?: string;
  answerTimeoutMs?: number;
}): Promise<BurstResult> {
  const slack = new SlackStandIn();
  await slack.start();
  const stateDir = mkdtempSync(join(tmpdir(), 'doom-burst-'));
  const { proc, base } = await startServe(
    ['--port', '0', '--project', opts.project, '--no-schedule'],
    {
      DOOM_OPS_MCP_TOKEN: 'bench-token',
      DOOM_OPS_STATE_DIR: stateDir,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_BOT_ID: 'BBENCH',
      SLACK_BOT_USER_ID: 'UBENCH',
    },
    serveNodeArgs(),
  );
  try {
    // One command first, as a running server would have served some: warm connections and code.
    await slashCommand(`${base}/slack/events`, SECRET, {
      text: opts.text ?? 'health',
      user: 'UWARM',
      channel: CHANNEL,
      responseUrl: `${slack.url}/response/warm`,
    });
    while (!slack.responsesTo('warm').some((r) => r.response_type)) await sleep(50);
    const loadAverage1m = await settle();
    const rssBeforeMb = memoryMb(proc.pid!, 'VmRSS');
    const harness = monitorEventLoopDelay({ resolution: 10 });
    harness.enable();
    const started = performance.now();
    const acks: SlashAck[] = await mapLimit(
      Array.from({ length: opts.commands }, (_, i) => i),
      opts.concurrency,
      (i) =>
        slashCommand(`${base}/slack/events`, SECRET, {
          text: opts.text ?? 'health',
          user: `U${i}`,
          channel: CHANNEL,
          responseUrl: `${slack.url}/response/b${i}`,
        }),
    );
    const deadline = Date.now() + (opts.answerTimeoutMs ?? 120_000);
    // Counted on the raw bodies: parsing 200 large answers here would slow this process's acks.
    const answered = () =>
      new Set(
        slack.responses
          .filter((r) => r.id.startsWith('b') && r.raw.includes('"response_type":"in_channel"'))
          .map((r) => r.id),
      ).size;
    while (answered() < opts.commands && Date.now() < deadline) await sleep(100);
    const lastAnswerMs = performance.now() - started;
    const rssPeakMb = memoryMb(proc.pid!, 'VmHWM');
    harness.disable();
    const health = (await (await fetch(`${base}/healthz`)).json()) as {
      work?: { eventLoopDelayMs?: unknown };
    };
    const ms = acks.map((a) => a.ms).sort((a, b) => a - b);
    return {
      commands: opts.commands,
      concurrency: opts.concurrency,
      containers: opts.containers,
      acks: {
        over3s: ms.filter((m) => m >= 3000).length,
        p50Ms: round(percentile(ms, 50), 1),
        p99Ms: round(percentile(ms, 99), 1),
        maxMs: round(ms.at(-1)!, 1),
        non200: acks.filter((a) => a.status !== 200).length,
      },
      slowest: acks
        .map((a, command) => ({ command, ms: round(a.ms, 1) }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5),
      answered: answered(),
      lastAnswerMs: round(lastAnswerMs, 0),
      rssBeforeMb,
      rssPeakMb,
      rssGrowthMb: round(rssPeakMb - rssBeforeMb, 1),
      loadAverage1m,
      serveEventLoopMs: health.work?.eventLoopDelayMs,
      harnessEventLoopMs: { p99: round(harness.percentile(99) / 1e6, 1), max: round(harness.max / 1e6, 1) },
    };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    await slack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * Issue 21's Slack burst: 200 signed `/doom health` at concurrency 50 against `serve` on a
 * 100-container stack. Targets: no ack over 3 s, ack p99 under 500 ms, every answer delivered,
 * RSS growth under 100 MB.
 */
export async function benchSlackBurst(): Promise<Record<string, unknown>> {
  const project = `doburst${Date.now().toString(36)}`;
  console.error(`creating 100 containers in project ${project}…`);
  const ids = await makeStack(project, 100);
  try {
    const r = await slackBurst({ project, containers: 100, commands: 200, concurrency: 50 });
    return {
      ...r,
      targets: 'acks over 3 s = 0, ack p99 < 500 ms, answered = commands, RSS growth < 100 MB',
      met: r.acks.over3s === 0 && r.acks.p99Ms < 500 && r.answered === r.commands && r.rssGrowthMb < 100,
      baseline:
        'before the worker pool (issue 21): 37 of 200 acks over 3 s, p99 7,350 ms, RSS 112 -> 396 MB on 98 containers',
    };
  } finally {
    await removeAll(ids);
  }
}
