import { describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';

/**
 * DockerAdapter.createContainer when the engine's answer never comes or comes after a cancel: the
 * engine carries a create out even when its client has gone, so what it made must be found (by the
 * create's own label) and removed. A fake dockerode surface; no engine.
 */
type Made = { Id: string; Labels: Record<string, string> };

function fakeEngine(o: { answerAfterMs?: number; makeAfterMs: number; stalled?: boolean }) {
  const made = new Map<string, Made>();
  const removed: string[] = [];
  const never = new Promise<never>(() => {});
  let n = 0;
  const docker = {
    modem: {},
    version: async () => ({ ApiVersion: '1.41', Version: '20.10.24' }),
    createContainer: (opts: { name: string; Labels: Record<string, string> }) => {
      const id = `c${++n}`;
      // The engine adds the image's labels to the container's (as moby's merge() does).
      setTimeout(
        () => made.set(id, { Id: id, Labels: { 'org.opencontainers.image.version': '1', ...opts.Labels } }),
        o.makeAfterMs,
      );
      if (o.answerAfterMs === undefined) return never;
      return new Promise((r) =>
        setTimeout(() => r({ id, remove: () => docker.getContainer(id).remove() }), o.answerAfterMs),
      );
    },
    listContainers: async (q: { filters: { label: string[] } }) => {
      if (o.stalled) return never;
      const [k, v] = q.filters.label[0]!.split('=');
      return [...made.values()].filter((c) => c.Labels[k!] === v);
    },
    getContainer: (id: string) => ({
      remove: async () => {
        if (o.stalled) return never;
        removed.push(id);
        made.delete(id);
      },
    }),
  };
  return { docker, made, removed };
}

describe('DockerAdapter.createContainer', () => {
  it('removes what the engine made after the deadline, image labels and all (the create’s own label finds it)', async () => {
    const f = fakeEngine({ makeAfterMs: 150 });
    const a = new DockerAdapter({ timeoutMs: 100, docker: f.docker as never });
    await expect(
      a.createContainer('create helper', undefined, { name: 'h1', Labels: { 'doom-ops.helper': 'x' } }),
    ).rejects.toMatchObject({ code: 'timeout' });
    expect(f.made.size).toBe(0);
    expect(f.removed).toEqual(['c1']);
  });

  it('removes what it made when the caller cancelled while the engine was creating it', async () => {
    const f = fakeEngine({ makeAfterMs: 10, answerAfterMs: 60 });
    const a = new DockerAdapter({ timeoutMs: 1000, docker: f.docker as never });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    await expect(a.createContainer('create replica', stop.signal, { name: 'r1' })).rejects.toMatchObject({
      code: 'cancelled',
    });
    expect(f.removed).toEqual(['c1']);
    expect(f.made.size).toBe(0);
  });

  it('with a stalled engine the clean-up is bounded too: the call settles within seconds', async () => {
    const f = fakeEngine({ makeAfterMs: 10, stalled: true });
    const a = new DockerAdapter({ timeoutMs: 100, docker: f.docker as never });
    const t = Date.now();
    await expect(a.createContainer('create helper', undefined, { name: 'h2' })).rejects.toMatchObject({
      code: 'timeout',
    });
    // 100 ms for the create, then three looks (each bounded by the 100 ms deadline) 0, 1 and 3 s apart.
    expect(Date.now() - t).toBeLessThan(6000);
  }, 10_000);

  it('an answer from the engine (409: the name is taken) made nothing: no clean-up, the conflict is reported', async () => {
    const f = fakeEngine({ makeAfterMs: 10 });
    f.docker.createContainer = () =>
      Promise.reject(
        Object.assign(new Error('Conflict'), { statusCode: 409, json: { message: 'name in use' } }),
      );
    let listed = 0;
    const list = f.docker.listContainers;
    f.docker.listContainers = async (q) => {
      listed++;
      return list(q);
    };
    const a = new DockerAdapter({ timeoutMs: 1000, docker: f.docker as never });
    await expect(a.createContainer('create r', undefined, { name: 'r' })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(listed).toBe(0);
  });
});
