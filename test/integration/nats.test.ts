// The test stack's real NATS server (Debian's nats-server in the test image, JetStream on): the
// deep check, the smoke probe, the connectivity runbook and stack_down's JetStream drain run
// against it, with a real JetStream client (the `nats` package) making consumers with messages
// awaiting ack.
import { execa } from 'execa';
import { AckPolicy, connect, type JsMsg, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { Approver } from '../../src/safety/approver.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { parseJsz } from '../../src/tools/lib/jetstream.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;
let nc: NatsConnection;
let monitor: string;
const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });

const hostPort = async (port: string) =>
  Number((await containerOf(stack.project, 'nats')).NetworkSettings.Ports[port]?.[0]?.HostPort);

function ctx(config: Partial<Config> = {}, approver?: Approver) {
  const c = testContext(stack.project, undefined, config);
  return approver ? { ...c, approver } : c;
}

/** stack_down's config here: no OpenSearch or MongoDB in this stack; the JetStream wait as given. */
function downConfig(jetstream: Partial<Config['lifecycle']['jetstream']>): Partial<Config> {
  const base = testContext(stack.project).config.lifecycle;
  return {
    lifecycle: {
      ...base,
      opensearchFlush: false,
      // An argv: exec'd in the mongodb container (the driver's path is in stack-down.test.ts).
      mongoFsync: ['sh', '-c', 'sync && echo fsync >> /tmp/fsync-calls'],
      jetstream: { ...base.jetstream, ...jetstream },
    },
  };
}

interface Down {
  steps: Array<{ step: string; ok: boolean; skipped: boolean; detail: string; durationMs: number }>;
  stopped: Array<{ service: string; at: string }>;
}

/** A stream and a durable pull consumer with `n` messages fetched and not acknowledged yet. */
async function inFlight(stream: string, n: number): Promise<JsMsg[]> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
  await jsm.consumers.add(stream, {
    durable_name: 'trainer',
    ack_policy: AckPolicy.Explicit,
    ack_wait: 120e9,
  });
  const js = nc.jetstream();
  for (let i = 0; i < n + 2; i++)
    await js.publish(`${stream.toLowerCase()}.done`, new TextEncoder().encode(`e${i}`));
  const consumer = await js.consumers.get(stream, 'trainer');
  const got: JsMsg[] = [];
  for await (const m of await consumer.fetch({ max_messages: n, expires: 2000 })) got.push(m);
  expect(got).toHaveLength(n);
  return got;
}

beforeAll(async () => {
  stack = await upStack({ services: ['nats', 'orchestrator'], env: { ORCHESTRATOR_MODE: 'normal' } });
  await waitFor(
    'nats healthy',
    async () => (await containerOf(stack.project, 'nats')).State.Health?.Status === 'healthy',
  );
  monitor = `http://127.0.0.1:${await hostPort('8222/tcp')}`;
  nc = await connect({ servers: `127.0.0.1:${await hostPort('4222/tcp')}` });
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await stack?.down();
});

describe('the real NATS server', () => {
  it('is nats-server with JetStream on, its store in the nats-data volume', async () => {
    const varz = (await (await fetch(`${monitor}/varz`)).json()) as { version: string; jetstream?: unknown };
    expect(varz.version).toMatch(/^2\./);
    const js = parseJsz(await (await fetch(`${monitor}/jsz`)).text(), 'jsz');
    expect(js.enabled).toBe(true);
    const { stdout } = await execa('docker', ['exec', `${stack.project}_nats_1`, 'ls', '/data']);
    expect(stdout).toContain('jetstream');
  });

  it('deep check: /healthz inside the container and from doom-ops on the published monitor port; a frozen server fails it', async () => {
    const health = async () =>
      (await invokeTool(
        findTool('stack_health')!,
        ctx({
          services: {
            ...testContext(stack.project).config.services,
            nats: {
              ...testContext(stack.project).config.services.nats!,
              deepCheck: { exec: ['wget', '-qO-', 'http://127.0.0.1:8222/healthz'], timeout: 3000 },
            },
            orchestrator: {
              ...testContext(stack.project).config.services.orchestrator!,
              deepCheck: { http: `${monitor}/healthz?js-enabled-only=true`, timeout: 3000 },
            },
          },
        }),
        { deep: true },
      )) as {
        services: Array<{
          service: string;
          ok: boolean;
          deepCheck: { kind: string; ok: boolean; detail: string } | null;
        }>;
      };
    const h = await health();
    const nats = h.services.find((s) => s.service === 'nats')!;
    expect(nats.deepCheck).toMatchObject({ kind: 'exec', ok: true });
    expect(nats.deepCheck!.detail).toContain('{"status":"ok"}');
    expect(h.services.find((s) => s.service === 'orchestrator')!.deepCheck).toMatchObject({
      kind: 'http',
      ok: true,
    });

    // SIGSTOP the server (not PID 1, which is the image's wrapper): it stops answering.
    const pid = (
      await execa('docker', ['exec', `${stack.project}_nats_1`, 'pidof', 'nats-server'])
    ).stdout.trim();
    await execa('docker', ['exec', `${stack.project}_nats_1`, 'kill', '-STOP', pid]);
    try {
      const frozen = await health();
      const n = frozen.services.find((s) => s.service === 'nats')!;
      expect(n.deepCheck).toMatchObject({ kind: 'exec', ok: false });
      expect(n.ok).toBe(false);
      expect(frozen.services.find((s) => s.service === 'orchestrator')!.deepCheck?.detail).toMatch(
        /no answer within 3000 ms/,
      );
    } finally {
      await execa('docker', ['exec', `${stack.project}_nats_1`, 'kill', '-CONT', pid]);
    }
  }, 60_000);

  it('smoke probes: /varz and /jsz on the monitor port, the client port over TCP', async () => {
    const probes = [
      { name: 'NATS monitoring', http: `${monitor}/varz`, expect: '"server_name": ?"nats"', timeout: 3000 },
      { name: 'NATS JetStream', http: `${monitor}/jsz`, expect: '"store_dir"', timeout: 3000 },
      { name: 'NATS clients', tcp: { host: '127.0.0.1', port: await hostPort('4222/tcp') }, timeout: 3000 },
      {
        name: 'NATS wrong page',
        http: `${monitor}/varz`,
        expect: '"server_name": ?"mongodb"',
        timeout: 3000,
      },
    ];
    const r = (await invokeTool(
      findTool('smoke_test')!,
      ctx({ smoke: { probes } as Config['smoke'] }),
      {},
    )) as {
      probes: Array<{ name: string; ok: boolean; detail: string }>;
    };
    expect(r.probes.map((p) => [p.name, p.ok])).toEqual([
      ['NATS monitoring', true],
      ['NATS JetStream', true],
      ['NATS clients', true],
      ['NATS wrong page', false],
    ]);
    expect(r.probes[3]!.detail).toMatch(/does not match/);
  });

  it('connectivity runbook: orchestrator reaches nats:4222; nothing listens on 4223', async () => {
    const run = (port: number) =>
      invokeTool(findTool('run_runbook')!, ctx(), {
        id: 'network-connectivity',
        service: 'orchestrator',
        target: 'nats',
        port,
      }) as Promise<{
        findings: Array<{ severity: string; title: string; explanation: string; evidence: string[] }>;
      }>;
    const ok = await run(4222);
    expect(ok.findings[0]?.severity).toBe('info');
    expect(ok.findings[0]?.evidence.join('\n')).toMatch(/port_reachable: ok/);
    const refused = await run(4223);
    expect(refused.findings[0]?.title).toMatch(/port_reachable fails$/);
    expect(refused.findings[0]?.explanation).toMatch(/refused/i);
  });
});

describe('stack_down and JetStream', () => {
  it('the plan shows the JetStream wait; declined, nothing runs', async () => {
    let steps: string[] = [];
    const decline: Approver = async (req) => {
      steps = req.plan.steps;
      return { approved: false, reason: 'not now' };
    };
    await expect(
      invokeTool(findTool('stack_down')!, ctx(downConfig({ timeout: 2000 }), decline), {}),
    ).rejects.toMatchObject({ code: 'not_allowed' });
    expect(steps).toContain(
      "drain NATS JetStream: wait up to 2s until no consumer has messages awaiting ack (/jsz on nats's monitor port 8222)",
    );
    expect(steps.indexOf(steps.find((s) => s.startsWith('drain NATS'))!)).toBeLessThan(
      steps.indexOf(steps.find((s) => s.startsWith('CHECKPOINT'))!),
    );
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
  });

  it('messages that stay unacknowledged past the bound stop the shutdown before anything stops, naming the consumer', async () => {
    const held = await inFlight('HELD', 3);
    const t0 = Date.now();
    await expect(
      invokeTool(findTool('stack_down')!, ctx(downConfig({ timeout: 2500, every: 500 }), approveAll), {}),
    ).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(
        /shutdown stopped before stopping any service: drain NATS JetStream: after 2\.\ds, 3 messages still await ack: HELD\/trainer 3 .*\(done: fsync MongoDB\)$/,
      ),
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
    expect((await containerOf(stack.project, 'orchestrator')).State.Running).toBe(true);
    for (const m of held) m.ack();
    await nc.flush();
  }, 60_000);

  it('waits for a real consumer to acknowledge its pending messages, then stops the stack', async () => {
    const msgs = await inFlight('EPISODES', 4);
    let ackedAt = 0;
    // The consumer finishes its work 2 s into the shutdown.
    const worker = (async () => {
      await new Promise((r) => setTimeout(r, 2000));
      for (const m of msgs) m.ack();
      await nc.flush();
      ackedAt = Date.now();
    })();
    const r = (await invokeTool(
      findTool('stack_down')!,
      ctx(downConfig({ timeout: 30_000, every: 300 }), approveAll),
      {},
    )) as Down;
    await worker;
    const step = r.steps.find((s) => s.step === 'drain NATS JetStream')!;
    expect(step).toMatchObject({ ok: true, skipped: false });
    expect(step.detail).toMatch(
      /^4 messages awaiting ack drained in \d+\.\ds; 2 consumers on 2 streams; 4 undelivered messages stay in their streams; GET http:\/\/127\.0\.0\.1:\d+\/jsz\?consumers=true$/,
    );
    expect(step.durationMs).toBeGreaterThanOrEqual(1500);
    // Nothing was stopped before the acks.
    // Compose starts orchestrator's dependencies too.
    expect(r.stopped.map((s) => s.service).sort()).toEqual(['mongodb', 'nats', 'opensearch', 'orchestrator']);
    for (const s of r.stopped) expect(Date.parse(s.at)).toBeGreaterThanOrEqual(ackedAt - 50);
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(false);
    expect(r.steps.find((s) => s.step === 'fsync MongoDB')).toMatchObject({ ok: true, skipped: false });
    const calls = await execa('docker', ['cp', `${stack.project}_mongodb_1:/tmp/fsync-calls`, '-']);
    expect(calls.stdout).toContain('fsync');
  }, 90_000);
});
