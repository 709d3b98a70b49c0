import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { ContainerStateCache, followStateEvents } from '../../src/adapters/docker/state-cache.js';
import { createLogger } from '../../src/logger.js';
import { docker, uniqueProject, waitFor } from '../helpers/stack.js';

/**
 * serve's container state cache on the real engine: inspects are served from memory while the
 * event stream is connected, and each kind of change reaches the answer through its event: a
 * pause (not a recorded action), every health probe (exec events, no health_status change), a
 * network connect (a network event) and a lost stream.
 */
const IMAGE = 'doom-ops-test/base:latest';
const project = uniqueProject('docache');
const network = `${project}-extra`;
const adapter = new DockerAdapter({ timeoutMs: 30_000 });
const cache = new ContainerStateCache(project);
const stop = new AbortController();
let following: Promise<void>;
let id = '';

beforeAll(async () => {
  adapter.useStateCache(cache);
  following = followStateEvents(adapter, cache, createLogger('silent'), stop.signal);
  await waitFor('state cache connected', async () => cache.stats.live);
  const c = await docker.createContainer({
    name: `${project}-agent-1`,
    Image: IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: {
      'com.docker.compose.project': project,
      'com.docker.compose.service': 'agent',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
    },
    // A probe every second whose output changes each time (and whose status stays healthy).
    Healthcheck: { Test: ['CMD-SHELL', 'cat /proc/uptime'], Interval: 1e9, Timeout: 5e9, Retries: 3 },
  });
  id = c.id;
  await c.start();
  await docker.createNetwork({ Name: network, Labels: { 'com.docker.compose.project': project } });
}, 60_000);

afterAll(async () => {
  stop.abort();
  await following;
  adapter.useStateCache(undefined);
  await docker
    .getContainer(id)
    .remove({ force: true })
    .catch(() => undefined);
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => undefined);
});

/** Two inspects with no event between them: the second is a hit with the same answer. */
async function settledPair() {
  for (let i = 0; i < 50; i++) {
    const a = await adapter.inspect(id);
    const before = cache.stats.hits;
    const b = await adapter.inspect(id);
    if (cache.stats.hits === before + 1) return { a, b };
  }
  throw new Error('no two inspects in 50 tries were served from the cache');
}

describe('container state cache on the real engine', () => {
  it('serves a second inspect from memory, then drops it on the next health probe', async () => {
    const { a, b } = await settledPair();
    expect(b).toEqual(a);
    // The next probe (exec events only: the status stays healthy) must reach the answer.
    const lastProbe = (d: typeof a) => d.health?.log.at(-1)?.output;
    await waitFor(
      'a newer probe in the inspect',
      async () => lastProbe(await adapter.inspect(id)) !== lastProbe(a),
      15_000,
    );
  });

  it('a pause, and a network connect, are in the next inspect', async () => {
    await settledPair();
    await docker.getContainer(id).pause();
    await waitFor('paused in the inspect', async () => (await adapter.inspect(id)).state.paused, 10_000);
    await docker.getContainer(id).unpause();
    await waitFor('unpaused in the inspect', async () => !(await adapter.inspect(id)).state.paused, 10_000);

    await settledPair();
    await docker.getNetwork(network).connect({ Container: id });
    await waitFor(
      'the new network in the inspect',
      async () => (await adapter.inspect(id)).networks.some((n) => n.name === network),
      10_000,
    );
  });

  it('serves nothing once the event stream is gone', async () => {
    await settledPair();
    cache.markDisconnected();
    const hits = cache.stats.hits;
    await adapter.inspect(id);
    await adapter.inspect(id);
    expect(cache.stats.hits).toBe(hits);
    expect(cache.stats.entries).toBe(0);
  });
});
