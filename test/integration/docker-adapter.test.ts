import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { stackHealth } from '../../src/tools/health/stack-health.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { testContext } from '../helpers/context.js';
import { docker, uniqueProject, waitFor } from '../helpers/stack.js';

const IMAGE = 'doom-ops-test/base:latest';
const project = uniqueProject('dov2');
const created: string[] = [];

/** A container labelled exactly as Compose v2 labels its replicas, named proj-svc-N. */
async function v2Container(
  service: string,
  number: number,
  opts: { oneoff?: boolean; cmd?: string[]; tty?: boolean; name?: string } = {},
): Promise<string> {
  const c = await docker.createContainer({
    name: opts.name ?? `${project}-${service}-${number}`,
    Image: IMAGE,
    Cmd: opts.cmd ?? ['/bin/sh', '/opt/doom/svc.sh'],
    Tty: opts.tty ?? false,
    Env: [`SERVICE=${service}`, 'LOG_INTERVAL=1'],
    Labels: {
      'com.docker.compose.project': project,
      'com.docker.compose.service': service,
      'com.docker.compose.container-number': String(number),
      'com.docker.compose.oneoff': opts.oneoff ? 'True' : 'False',
      'com.docker.compose.version': '2.29.0',
    },
    HostConfig: { Memory: 48 * 1024 * 1024 },
  });
  created.push(c.id);
  await c.start();
  return c.id;
}

let agent1 = '';
let mixed = '';
let tty = '';
const adapter = new DockerAdapter({ timeoutMs: 10_000 });

beforeAll(async () => {
  agent1 = await v2Container('agent', 1);
  await v2Container('agent', 2);
  await v2Container('agent', 0, { oneoff: true, name: `${project}-agent-run-1a2b3c` });
  mixed = await v2Container('vizdoom', 1, {
    cmd: [
      '/bin/sh',
      '-c',
      'echo to-stdout; echo to-stderr >&2; i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; sleep 600',
    ],
  });
  tty = await v2Container('dashboard', 1, {
    tty: true,
    cmd: ['/bin/sh', '-c', 'echo tty-line-1; echo tty-line-2; sleep 600'],
  });
  await waitFor('mixed container to log', async () => {
    const lines: string[] = [];
    for await (const l of adapter.logLines(mixed, { tail: 1 })) lines.push(l.text);
    return lines[0] === 'line 2999';
  });
});

afterAll(async () => {
  await Promise.all(
    created.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
});

describe('docker adapter on a Compose v2-named stack', () => {
  it('finds replicas by labels whatever their names; one-off run containers are kept apart', async () => {
    const list = await adapter.listStack(project);
    const agents = list.filter((c) => c.service === 'agent');
    expect(agents.map((c) => [c.name, c.number, c.oneoff])).toEqual([
      [`${project}-agent-run-1a2b3c`, 0, true],
      [`${project}-agent-1`, 1, false],
      [`${project}-agent-2`, 2, false],
    ]);
  });

  it('stack_health counts replicas and ignores one-off containers', async () => {
    const h = await invokeTool(stackHealth, testContext(project), {});
    const agent = h.services.find((s) => s.service === 'agent')!;
    expect(agent.replicas.total).toBe(2);
    expect(agent.containers.map((c) => c.name)).toEqual([`${project}-agent-1`, `${project}-agent-2`]);
    expect(h.services.find((s) => s.service === 'mongodb')?.status).toBe('missing');
  });

  it('inspect reports limits and Compose identity', async () => {
    const d = await adapter.inspect(agent1);
    expect(d).toMatchObject({ service: 'agent', number: 1, memoryLimitBytes: 48 * 1024 * 1024, tty: false });
  });
});

describe('logs', () => {
  it('demultiplexes stdout and stderr', async () => {
    // The engine copies stdout and stderr separately, so only per-stream order is guaranteed.
    const lines = [];
    for await (const l of adapter.logLines(mixed, {})) lines.push(l);
    const pairs = lines.map((l) => [l.stream, l.text]);
    expect(pairs).toContainEqual(['stdout', 'to-stdout']);
    expect(pairs).toContainEqual(['stderr', 'to-stderr']);
    expect(lines.filter((l) => l.stream === 'stderr')).toHaveLength(1);
    expect(lines).toHaveLength(3002);
    expect(lines[0]!.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('reads TTY containers as a raw stream', async () => {
    const lines = [];
    for await (const l of adapter.logLines(tty, { tty: true })) lines.push(l.text);
    expect(lines).toEqual(['tty-line-1', 'tty-line-2']);
  });

  it('stops reading when the caller aborts', async () => {
    const controller = new AbortController();
    let count = 0;
    const read = (async () => {
      for await (const _ of adapter.logLines(mixed, { signal: controller.signal })) {
        count++;
        if (count === 10) controller.abort(new Error('user cancelled'));
        // keep consuming: the abort must end the stream by itself
        await new Promise((r) => setImmediate(r));
      }
    })();
    await expect(read).rejects.toMatchObject({ code: 'cancelled' });
    expect(count).toBeLessThan(3002);
  });
});

describe('events and exec', () => {
  it('reads engine events in a closed window', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = await v2Container('nats', 1, { cmd: ['/bin/sh', '-c', 'exit 3'] });
    await waitFor(
      'nats to exit',
      async () => (await docker.getContainer(id).inspect()).State.Status === 'exited',
    );
    const events = await adapter.events({
      since,
      until: Math.floor(Date.now() / 1000) + 1,
      filters: { label: [`com.docker.compose.project=${project}`] },
    });
    const die = events.find((e) => e.id === id && e.action === 'die');
    expect(die?.attributes.exitCode).toBe('3');
    expect(events.some((e) => e.id === id && e.action === 'start')).toBe(true);
  });

  it('exec runs argv without a shell and returns exit code and output', async () => {
    const ok = await adapter.exec(agent1, ['echo', 'hi; echo injected']);
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'hi; echo injected\n' });
    const bad = await adapter.exec(agent1, ['sh', '-c', 'echo oops >&2; exit 4']);
    expect(bad).toMatchObject({ exitCode: 4, stderr: 'oops\n' });
  });

  it('a missing container is not_found', async () => {
    await expect(adapter.inspect('doom-ops-no-such-container')).rejects.toMatchObject({ code: 'not_found' });
  });
});
