import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStore } from '../../src/recorder/event-store.js';
import { StackLock } from '../../src/safety/lock.js';
import { ScheduleState } from '../../src/schedule/state.js';

const dir = () => mkdtempSync(join(tmpdir(), 'doomlock-'));
const NO_SUCH_PID = 2 ** 22 + 7; // above Linux's largest pid_max

afterEach(() => {
  vi.useRealTimers();
});

// What a racer sees between another process's open(O_EXCL) and its write: nothing, or half of it.
const EMPTY = '';
const PARTIAL = '{"pid":4242,"host":"';

describe('StackLock: an empty or partial lock file is busy, never stale', () => {
  for (const [name, text] of [
    ['empty', EMPTY],
    ['partial', PARTIAL],
  ] as const) {
    it(`a ${name} lock file is reported busy naming the file, and left alone`, async () => {
      const d = dir();
      const file = join(d, 'p.lock');
      writeFileSync(file, text);
      await expect(new StackLock(d).acquire('p', 'scale_service', 'cli:bob')).rejects.toMatchObject({
        code: 'busy',
        message: expect.stringContaining(`its lock file ${file} exists but names no holder`),
        hint: expect.stringContaining(`remove ${file}`),
      });
      expect(readFileSync(file, 'utf8')).toBe(text);
    });
  }

  it('a lock taken over for its age stays the new holder’s: the old holder’s release does not remove it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const d = dir();
    const lock = new StackLock(d, 60_000);
    const releaseOld = await lock.acquire('p', 'backup', 'cli:alice');
    vi.setSystemTime(Date.now() + 120_000); // alice's lock is now older than staleMs
    const releaseNew = await lock.acquire('p', 'restore', 'cli:bob');
    releaseOld(); // alice finishes late: bob holds the lock, not her
    await expect(lock.acquire('p', 'x', 'cli:carol')).rejects.toMatchObject({
      code: 'busy',
      message: expect.stringMatching(/restore by cli:bob/),
    });
    releaseNew();
    await expect(lock.acquire('p', 'x', 'cli:carol')).resolves.toBeTypeOf('function');
  });

  it('leaves no temp or takeover files behind after acquiring, taking over and releasing', async () => {
    const d = dir();
    writeFileSync(
      join(d, 'p.lock'),
      JSON.stringify({ pid: NO_SUCH_PID, host: hostname(), operation: 'x', principal: 'ghost', since: '' }),
    );
    const release = await new StackLock(d).acquire('p', 'y', 'me');
    release();
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('the same mistake elsewhere: the recorder lock and the scheduler’s running marker', () => {
  it('an empty or partial recorder lock file is held (by no known pid), not taken over', async () => {
    for (const text of [EMPTY, PARTIAL]) {
      const d = dir();
      const store = new EventStore(join(d, 'events', 'p.jsonl'), 1 << 20);
      mkdirSync(join(d, 'events'));
      writeFileSync(`${store.file}.lock`, text);
      expect(await store.lock()).toEqual({ heldBy: -1, file: `${store.file}.lock` });
      expect(readFileSync(`${store.file}.lock`, 'utf8')).toBe(text);
    }
  });

  it("a recorder lock naming a dead process (an older version's bare pid) is taken over, and then held", async () => {
    const d = dir();
    const store = new EventStore(join(d, 'events', 'p.jsonl'), 1 << 20);
    mkdirSync(join(d, 'events'));
    writeFileSync(`${store.file}.lock`, String(NO_SUCH_PID)); // an older version's bare pid
    const mine = await store.lock();
    expect('release' in mine).toBe(true);
    expect(await store.lock()).toMatchObject({ heldBy: process.pid });
  });

  it('an empty or partial running marker keeps the job running (busy), not taken over', () => {
    for (const text of [EMPTY, PARTIAL]) {
      const d = dir();
      const state = new ScheduleState(d, 'p');
      const marker = join(d, 'schedule', 'p', 'job', 'running');
      mkdirSync(join(d, 'schedule', 'p', 'job'), { recursive: true });
      writeFileSync(marker, text);
      expect(state.startRun('job', 0)).toEqual({ heldBy: expect.stringContaining(`the marker ${marker}`) });
      expect(readFileSync(marker, 'utf8')).toBe(text);
    }
  });
});
