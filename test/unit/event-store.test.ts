import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/adapters/docker/types.js';
import { EventStore } from '../../src/recorder/event-store.js';

const ev = (sec: number, action: string, service = 'orchestrator'): EngineEvent => ({
  time: new Date(sec * 1000).toISOString(),
  type: 'container',
  action,
  id: `id${sec}`,
  name: `p_${service}_1`,
  attributes: { 'com.docker.compose.service': service, 'com.docker.compose.config-hash': 'x'.repeat(64) },
});

describe('EventStore', () => {
  it('rotates past maxBytes, reads oldest first across both files, filters by window, service and action', async () => {
    const store = EventStore.forProject(mkdtempSync(join(tmpdir(), 'evs-')), 'p', 400);
    for (let s = 1000; s < 1006; s++) await store.append([ev(s, s % 2 ? 'die' : 'health_status: unhealthy')]);
    await store.append([ev(1006, 'die', 'agent')]);
    const all = [];
    for await (const e of store.all()) all.push(e.time);
    // Rotation keeps one previous file: the oldest lines may be gone, the rest stay in order.
    expect(all).toEqual([...all].sort());
    expect(all.at(-1)).toBe(new Date(1006_000).toISOString());
    // Only the attributes worth keeping are stored.
    expect(
      (await store.query({ since: 0, until: 2000, actions: ['die'], max: 10 }))[0]?.attributes,
    ).not.toHaveProperty('com.docker.compose.config-hash');
    const q = await store.query({
      since: 1003,
      until: 1006,
      service: 'orchestrator',
      actions: ['die', 'health_status'],
      max: 10,
    });
    expect(q.map((e) => e.action)).toEqual(['die', 'health_status: unhealthy', 'die']);
    expect((await store.query({ since: 0, until: 2000, actions: ['die'], max: 1 })).map((e) => e.id)).toEqual(
      ['id1006'],
    );
  });

  it('skips a line cut short by a crash and finds the last stored second', async () => {
    const store = EventStore.forProject(mkdtempSync(join(tmpdir(), 'evs-')), 'p', 1 << 20);
    await store.append([ev(2000, 'die'), ev(2001, 'start')]);
    appendFileSync(store.file, '{"time":"2026-');
    const tail = await store.tail();
    expect(tail.lastMs).toBe(2001_000);
    expect([...tail.recentKeys]).toEqual([`${new Date(2001_000).toISOString()}|id2001|start`]);
    // A new store on the same file (a restarted recorder) starts on a fresh line.
    const again = EventStore.forProject(join(store.file, '..', '..'), 'p', 1 << 20);
    await again.append([ev(2002, 'die')]);
    expect((await again.tail()).lastMs).toBe(2002_000);
  });
});
