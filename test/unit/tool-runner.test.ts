import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { ContainerStateCache } from '../../src/adapters/docker/state-cache.js';
import type { ContainerDetail, EngineEvent } from '../../src/adapters/docker/types.js';
import type { ToolContext } from '../../src/tools/context.js';
import { defineTool } from '../../src/tools/define-tool.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { projectSecrets } from '../../src/tools/lib/secrets.js';
import { ToolRunner } from '../../src/tools/runner.js';
import { unitContext } from '../helpers/unit-context.js';

/** A promise and its resolver, for holding work open until the test lets it go. */
function gate<T = void>() {
  let open!: (v: T) => void;
  const p = new Promise<T>((r) => {
    open = r;
  });
  return { p, open };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('ToolRunner: bounded workers', () => {
  it('runs at most `workers` at once, the rest in arrival order; a full queue is refused as busy', async () => {
    const runner = new ToolRunner({ workers: 2, queue: 2 });
    const g = gate();
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) =>
      runner.run(`job ${i}`, new AbortController().signal, async () => {
        active++;
        peak = Math.max(peak, active);
        order.push(i);
        await g.p;
        active--;
        return i;
      });
    const running = [job(1), job(2), job(3), job(4)];
    await tick();
    expect(runner.stats).toMatchObject({ active: 2, queued: 2 });
    await expect(job(5)).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/busy/) });
    g.open();
    expect(await Promise.all(running)).toEqual([1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(runner.stats).toMatchObject({ active: 0, queued: 0 });
  });

  it('a call cancelled while it waits never runs and frees its place; a failure frees its worker', async () => {
    const runner = new ToolRunner({ workers: 1, queue: 10 });
    const g = gate();
    const first = runner.run('first', new AbortController().signal, async () => {
      await g.p;
      throw new Error('boom');
    });
    const abort = new AbortController();
    let ran = false;
    const waiting = runner.run('second', abort.signal, async () => {
      ran = true;
    });
    await tick();
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'cancelled' });
    expect(runner.stats.queued).toBe(0);
    g.open();
    await expect(first).rejects.toThrow('boom');
    expect(ran).toBe(false);
    expect(await runner.run('third', new AbortController().signal, async () => 3)).toBe(3);
  });
});

describe('ToolRunner: single flight', () => {
  const caller = (signal = new AbortController().signal, progress: unknown[] = []) => ({
    signal,
    progress: (p: unknown) => progress.push(p),
  });

  it('identical calls share one run: every caller gets the result (joiners a copy) and the progress', async () => {
    const runner = new ToolRunner({ workers: 4, queue: 10 });
    const g = gate<{ n: number[] }>();
    let runs = 0;
    const seenA: unknown[] = [];
    const seenB: unknown[] = [];
    const fn = async (h: { progress(p: { progress: number }): void }) => {
      runs++;
      await tick();
      h.progress({ progress: 1 });
      return g.p;
    };
    const a = runner.shared('k', caller(undefined, seenA), fn);
    const b = runner.shared('k', caller(undefined, seenB), fn);
    const other = runner.shared('other', caller(), async () => ({ n: [9] }));
    g.open({ n: [1] });
    const [ra, rb] = await Promise.all([a, b]);
    expect(runs).toBe(1);
    expect(ra).toEqual({ n: [1] });
    expect(rb).toEqual({ n: [1] });
    expect(rb).not.toBe(ra);
    expect(await other).toEqual({ n: [9] });
    expect(seenA).toEqual([{ progress: 1 }]);
    expect(seenB).toEqual([{ progress: 1 }]);
    expect(runner.stats).toMatchObject({ flights: 0, joined: 1 });
    // Afterwards the same key starts a new run.
    await runner.shared('k', caller(), async () => {
      runs++;
      return { n: [2] };
    });
    expect(runs).toBe(2);
  });

  it('each caller’s copy is taken in its own release turn, never all at once; a change to one copy reaches nobody else', async () => {
    const runner = new ToolRunner({ workers: 4, queue: 10 });
    const g = gate<{ n: number[] }>();
    const clone = vi.spyOn(globalThis, 'structuredClone');
    try {
      const fn = async () => g.p;
      const [a, b, c] = [1, 2, 3].map(() => runner.shared('k', caller(), fn));
      const clonesWhenReleased: number[] = [];
      const got = [a, b, c].map((p) =>
        p!.then((v) => {
          clonesWhenReleased.push(clone.mock.calls.length);
          v.n.push(99);
          return v;
        }),
      );
      g.open({ n: [1] });
      const [ra, rb, rc] = await Promise.all(got);
      // a's copy, then b's, each in its turn; c, released last, gets the original (no copy).
      expect(clonesWhenReleased).toEqual([1, 2, 2]);
      expect([ra, rb, rc]).toEqual([{ n: [1, 99] }, { n: [1, 99] }, { n: [1, 99] }]);
      expect(new Set([ra, rb, rc]).size).toBe(3);
    } finally {
      clone.mockRestore();
    }
  });

  it('the first caller sees the start and the first progress; after advance() a new caller starts a new run', async () => {
    const runner = new ToolRunner({ workers: 4, queue: 10 });
    const seen: unknown[] = [];
    let started = 0;
    let runs = 0;
    const g = gate();
    const fn = async (h: { progress(p: { progress: number }): void; onStart(): void }) => {
      runs++;
      h.onStart();
      h.progress({ progress: 0 });
      await g.p;
      return runs;
    };
    const key = () => runner.flightKey('k');
    const a = runner.shared(key(), { ...caller(undefined, seen), onStart: () => started++ }, fn);
    expect(started).toBe(1);
    expect(seen).toEqual([{ progress: 0 }]);
    runner.advance();
    const b = runner.shared(key(), caller(), fn);
    g.open();
    expect(await Promise.all([a, b])).toEqual([2, 2]);
    expect(runs).toBe(2);
  });

  it('a caller that leaves is cancelled alone; the run is aborted only when every caller has left', async () => {
    const runner = new ToolRunner({ workers: 4, queue: 10 });
    const a = new AbortController();
    const b = new AbortController();
    let runSignal: AbortSignal | undefined;
    const g = gate<string>();
    const fn = async (h: { signal: AbortSignal }) => {
      runSignal = h.signal;
      return g.p;
    };
    const pa = runner.shared('k', caller(a.signal), fn);
    const pb = runner.shared('k', caller(b.signal), fn);
    a.abort();
    await expect(pa).rejects.toMatchObject({ code: 'cancelled' });
    expect(runSignal?.aborted).toBe(false);
    b.abort();
    await expect(pb).rejects.toMatchObject({ code: 'cancelled' });
    expect(runSignal?.aborted).toBe(true);
    // A new caller does not join the aborted run: it starts its own.
    const pc = runner.shared('k', caller(), async () => 'fresh');
    expect(await pc).toBe('fresh');
    g.open('late');
  });
});

/** A read tool answering { ok } from `run`. */
const okTool = (name: string, run: (ctx: ToolContext) => Promise<{ ok: boolean }>) =>
  defineTool({
    name,
    title: 't',
    description: 'd',
    risk: 'read',
    idempotent: true,
    input: z.object({}),
    output: z.object({ ok: z.boolean() }),
    run: (ctx) => run(ctx),
  });

describe('invokeTool with a runner', () => {
  const base = (runner: ToolRunner, signal = new AbortController().signal): ToolContext =>
    ({
      project: 'p',
      runner,
      signal,
      progress: () => {},
      principal: { id: 'test', surface: 'internal' },
      config: {},
      tools: [],
    }) as unknown as ToolContext;

  it('identical concurrent reads run once; different input or a perCaller tool run apart', async () => {
    let runs = 0;
    const g = gate();
    const read = defineTool({
      name: 'count_read',
      title: 't',
      description: 'd',
      risk: 'read',
      idempotent: true,
      input: z.object({ service: z.string().optional().describe('s') }),
      output: z.object({ runs: z.number() }),
      async run() {
        runs++;
        await g.p;
        return { runs };
      },
    });
    const runner = new ToolRunner({ workers: 2, queue: 10 });
    const calls = [
      invokeTool(read, base(runner), {}),
      invokeTool(read, base(runner), {}),
      invokeTool(read, base(runner), { service: 'nats' }),
      invokeTool({ ...read, perCaller: true }, base(runner), {}),
    ];
    await tick();
    g.open();
    const out = await Promise.all(calls);
    expect(runs).toBe(3);
    expect(out[0]).toEqual(out[1]);
  });

  it('a read after advance() (a change finished) does not join a read that started before it', async () => {
    let reads = 0;
    const g = gate();
    const read = defineTool({
      name: 'slow_read',
      title: 't',
      description: 'd',
      risk: 'read',
      idempotent: true,
      input: z.object({}),
      output: z.object({ n: z.number() }),
      async run() {
        reads++;
        await g.p;
        return { n: reads };
      },
    });
    const runner = new ToolRunner({ workers: 2, queue: 10 });
    const before = invokeTool(read, base(runner), {});
    const joined = invokeTool(read, base(runner), {});
    await tick();
    runner.advance();
    const after = invokeTool(read, base(runner), {});
    await tick();
    g.open();
    expect([(await before).n, (await joined).n, (await after).n]).toEqual([2, 2, 2]);
    expect(reads).toBe(2);
  });

  it('a secret the tool came to know is masked in its output with a runner too (shared or not)', async () => {
    const secret = 'S3cr3tPassw0rd!';
    const leaky = defineTool({
      name: 'leaky_read',
      title: 't',
      description: 'd',
      risk: 'read',
      idempotent: true,
      input: z.object({}),
      output: z.object({ text: z.string() }),
      async run(ctx) {
        await projectSecrets(ctx);
        return { text: `uri mongodb://root:${secret}@mongodb:27017` };
      },
    });
    const ctx = {
      ...base(new ToolRunner({ workers: 2, queue: 10 })),
      // No containers; the secret comes from config (backup.mongodb.uri).
      docker: { listStack: async () => [], inspect: async () => ({}) },
      config: {
        services: {},
        backup: { mongodb: { uri: `mongodb://root:${secret}@mongodb:27017` }, offsite: [] },
      },
    } as unknown as ToolContext;
    const outs = await Promise.all([invokeTool(leaky, ctx, {}), invokeTool(leaky, { ...ctx }, {})]);
    for (const o of outs) expect(o.text).not.toContain(secret);
  });

  it('a composite tool calling another tool inside a full pool does not wait on itself', async () => {
    const inner = okTool('inner_read', async () => ({ ok: true }));
    const outer = okTool('outer_read', async (ctx) => invokeTool(inner, ctx, {}));
    const runner = new ToolRunner({ workers: 1, queue: 10 });
    expect(await invokeTool(outer, base(runner), {})).toEqual({ ok: true });
  });
});

describe('ContainerStateCache', () => {
  const ID = 'a'.repeat(64);
  const detail = (id = ID, project = 'p') =>
    ({
      id,
      labels: { 'com.docker.compose.project': project },
      state: { status: 'running' },
    }) as unknown as ContainerDetail;
  const event = (type: string, action: string, id: string, attributes: Record<string, string> = {}) =>
    ({ type, action, id, time: new Date().toISOString(), name: undefined, attributes }) as EngineEvent;

  it('serves nothing until connected, then copies until the container next has an event', () => {
    const c = new ContainerStateCache('p');
    expect(c.ticket(ID)).toBeUndefined();
    c.markConnected();
    c.put(ID, detail(), c.ticket(ID)!);
    const hit = c.get(ID)!;
    expect(hit.id).toBe(ID);
    (hit.state as { status: string }).status = 'changed by a caller';
    expect(c.get(ID)!.state.status).toBe('running');
    c.onEvent(event('container', 'exec_die', ID));
    expect(c.get(ID)).toBeUndefined();
  });

  it('an entry is served for maxAgeMs at most; lifecycle events of the project, and the stream connecting or lost, are reported', () => {
    const c = new ContainerStateCache('p', 0);
    const changes: string[] = [];
    c.onLifecycle = (e) => changes.push(e?.action ?? 'stream');
    c.markConnected();
    expect(changes).toEqual(['stream']);
    changes.length = 0;
    c.put(ID, detail(), c.ticket(ID)!);
    const until = Date.now() + 5;
    while (Date.now() <= until) {}
    expect(c.get(ID)).toBeUndefined();
    c.onEvent(event('container', 'exec_die', ID, { 'com.docker.compose.project': 'p' }));
    c.onEvent(event('container', 'die', ID, { 'com.docker.compose.project': 'other' }));
    c.onEvent(event('container', 'health_status: unhealthy', ID, { 'com.docker.compose.project': 'p' }));
    expect(changes).toEqual(['health_status: unhealthy']);
    c.markDisconnected();
    expect(changes).toEqual(['health_status: unhealthy', 'stream']);
  });

  it('invalidate (a change starts or ends) drops what is held and an inspect in flight is not stored', () => {
    const c = new ContainerStateCache('p');
    c.markConnected();
    c.put(ID, detail(), c.ticket(ID)!);
    expect(c.get(ID)).toBeDefined();
    const inFlight = c.ticket(ID)!;
    c.invalidate();
    expect(c.get(ID)).toBeUndefined();
    c.put(ID, detail(), inFlight);
    expect(c.get(ID)).toBeUndefined();
    c.put(ID, detail(), c.ticket(ID)!);
    expect(c.get(ID)).toBeDefined();
  });

  it('an inspect overtaken by an event is not stored; nor another project, a short id or a lost stream', () => {
    const c = new ContainerStateCache('p');
    c.markConnected();
    const t = c.ticket(ID)!;
    c.onEvent(event('container', 'die', ID));
    c.put(ID, detail(), t);
    expect(c.get(ID)).toBeUndefined();
    // A destroyed container's in-flight inspect is not stored either.
    const t2 = c.ticket(ID)!;
    c.onEvent(event('container', 'destroy', ID));
    c.put(ID, detail(), t2);
    expect(c.get(ID)).toBeUndefined();
    const other = 'b'.repeat(64);
    c.put(other, detail(other, 'someone-else'), c.ticket(other)!);
    expect(c.get(other)).toBeUndefined();
    expect(c.ticket('abc123')).toBeUndefined();
    // A network event naming the container drops it too.
    c.put(ID, detail(), c.ticket(ID)!);
    c.onEvent(event('network', 'disconnect', 'f'.repeat(64), { container: ID }));
    expect(c.get(ID)).toBeUndefined();
    // Losing the stream drops everything, and a ticket from before is stale after reconnecting.
    const before = c.ticket(ID)!;
    c.put(ID, detail(), c.ticket(ID)!);
    c.markDisconnected();
    expect(c.get(ID)).toBeUndefined();
    c.markConnected();
    c.put(ID, detail(), before);
    expect(c.get(ID)).toBeUndefined();
  });
});

describe('a change and the state cache', () => {
  const CID = 'b'.repeat(64);
  /** A fake engine (dockerode surface) with one container whose running state the test flips. */
  function engine() {
    const st = { running: true };
    const raw = () => ({
      Id: CID,
      Name: '/p-api-1',
      Created: '2026-12-04T21:00:00Z',
      RestartCount: 0,
      State: {
        Status: st.running ? 'running' : 'exited',
        Running: st.running,
        Restarting: false,
        Paused: false,
        OOMKilled: false,
        ExitCode: 0,
        Error: '',
        StartedAt: '2026-12-04T22:00:00Z',
        FinishedAt: '',
        Pid: 1,
      },
      Config: {
        Labels: {
          'com.docker.compose.project': 'p',
          'com.docker.compose.service': 'api',
          'com.docker.compose.container-number': '1',
        },
        Image: 'api:1',
        Env: [],
      },
      HostConfig: { RestartPolicy: { Name: 'no' } },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    });
    const docker = {
      modem: {},
      version: async () => ({ ApiVersion: '1.41', Version: '20.10.24' }),
      getContainer: () => ({ inspect: async () => raw() }),
    };
    return { st, docker };
  }

  it('a read right after a change finished sees the engine, not an inspect held from before it', async () => {
    const e = engine();
    const docker = new DockerAdapter({ timeoutMs: 1000, docker: e.docker as never });
    const cache = new ContainerStateCache('p');
    cache.markConnected();
    docker.useStateCache(cache);
    const ctx = unitContext({ docker, runner: new ToolRunner({ workers: 2, queue: 10 }) });
    const read = defineTool({
      name: 'api_state',
      title: 't',
      description: 'd',
      risk: 'read',
      idempotent: true,
      input: z.object({}),
      output: z.object({ running: z.boolean() }),
      run: async (c) => ({ running: (await c.docker.inspect(CID, c.signal)).state.running }),
    });
    // A change whose effect the event stream has not delivered when it returns (no die event yet).
    const stop = defineTool({
      name: 'api_stop',
      title: 't',
      description: 'd',
      risk: 'write',
      idempotent: false,
      input: z.object({}),
      output: z.object({ ok: z.boolean() }),
      async run() {
        e.st.running = false;
        return { ok: true };
      },
    });
    expect(await invokeTool(read, ctx, {})).toEqual({ running: true });
    expect(cache.stats.entries).toBe(1);
    await invokeTool(stop, ctx, {});
    expect(await invokeTool(read, ctx, {})).toEqual({ running: false });
  });
});
