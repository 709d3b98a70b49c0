import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { createLogger } from '../../src/logger.js';
import { EventStore } from '../../src/recorder/event-store.js';
import { EventRecorder } from '../../src/recorder/recorder.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import {
  docker,
  orchestratorExhausted,
  type TestStack,
  uniqueProject,
  upStack,
  waitFor,
} from '../helpers/stack.js';

interface Why {
  window: { fromRecorder: number };
  deaths: Array<{ cause: string; time: string }>;
  verdict: { kind: string; policyExhausted: boolean };
}

const stateDir = mkdtempSync(join(tmpdir(), 'doomrec-'));
const project = uniqueProject('dorec');
const store = EventStore.forProject(stateDir, project, 1 << 20);
const logger = createLogger('silent');
const newRecorder = () =>
  new EventRecorder({ docker: new DockerAdapter({ timeoutMs: 10_000 }), store, project, logger });
const dies = async () => {
  let n = 0;
  for await (const e of store.all()) if (e.action === 'die') n++;
  return n;
};
const lines = async () => (await readFile(store.file, 'utf8')).split('\n').filter(Boolean).length;

let stack: TestStack;
let recorder: EventRecorder;
let startedAt: number;

beforeAll(async () => {
  recorder = newRecorder();
  expect(await recorder.start()).toBe(true);
  startedAt = Math.floor(Date.now() / 1000) - 1;
  stack = await upStack({ project, services: ['orchestrator'] });
  await orchestratorExhausted(project);
  // Six deaths: the first run and five restarts until on-failure:5 gives up.
  await waitFor('six deaths recorded', async () => (await dies()) >= 6, 30_000);
});

afterAll(async () => {
  await recorder?.stop();
  await stack?.down();
});

describe('event recorder', () => {
  it('keeps deaths the engine has forgotten, and explain_restarts uses them', async () => {
    // Push the deaths out of the engine's 256-event memory with 300 volume events.
    for (let i = 0; i < 150; i++) {
      const name = `${project}-flood-${i}`;
      await docker.createVolume({ Name: name });
      await docker.getVolume(name).remove();
    }
    const engine = await new DockerAdapter({ timeoutMs: 10_000 }).events({
      since: startedAt,
      until: Math.ceil(Date.now() / 1000),
      filters: { type: ['container'], event: ['die'], label: [`com.docker.compose.project=${project}`] },
    });
    expect(engine.length).toBeLessThan(6);

    const withRecorder = (await invokeTool(
      findTool('explain_restarts')!,
      testContext(project, undefined, {}, { stateDir }),
      { service: 'orchestrator' },
    )) as Why;
    expect(withRecorder.deaths.filter((d) => d.cause === 'oom')).toHaveLength(6);
    expect(withRecorder.window.fromRecorder).toBeGreaterThanOrEqual(6 - engine.length);
    expect(withRecorder.verdict).toMatchObject({ kind: 'oom_killed', policyExhausted: true });

    // Without the recorder's history: what the engine still holds, plus at most the last death as
    // the container's own state records it. Fewer than the six the recorder kept.
    const without = (await invokeTool(findTool('explain_restarts')!, testContext(project), {
      service: 'orchestrator',
    })) as Why;
    expect(without.deaths.length).toBeGreaterThanOrEqual(engine.length);
    expect(without.deaths.length).toBeLessThanOrEqual(engine.length + 1);
    expect(without.deaths.length).toBeLessThan(6);
    expect(without.window.fromRecorder).toBe(0);
  });

  it('one recorder per project: a second one is refused while the first runs', async () => {
    const second = newRecorder();
    expect(await second.start()).toBe(false);
  });

  it('resumes after a restart from the last stored event without storing replays twice', async () => {
    await recorder.stop();
    const before = await lines();
    recorder = newRecorder();
    expect(await recorder.start()).toBe(true);
    // The engine replays from the last stored second; nothing may be stored twice.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await lines()).toBe(before);
    // New events after the restart are recorded.
    const c = (
      await docker.listContainers({
        all: true,
        filters: { label: [`com.docker.compose.project=${project}`] },
      })
    )[0]!;
    await docker.getContainer(c.Id).start();
    await waitFor('the new start recorded', async () => (await lines()) > before, 20_000);
    const keys = (await readFile(store.file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const e = JSON.parse(l) as { time: string; id: string; action: string };
        return `${e.time}|${e.id}|${e.action}`;
      });
    expect(new Set(keys).size).toBe(keys.length);
  });
});
