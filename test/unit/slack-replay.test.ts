import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../src/slack/replay.js';

describe('ReplayCache (Slack signed requests are processed once)', () => {
  it('accepts a signature once while its timestamp is inside the 5-minute window, and forgets it after', () => {
    let nowMs = Date.parse('2026-11-28T03:00:00Z');
    const cache = new ReplayCache(() => nowMs);
    const ts = nowMs / 1000;
    expect(cache.firstTime('v0=aaa', ts)).toBe(true);
    expect(cache.firstTime('v0=aaa', ts)).toBe(false);
    expect(cache.firstTime('v0=bbb', ts)).toBe(true);
    nowMs += 5 * 60_000; // still inside Slack's window: still a replay
    expect(cache.firstTime('v0=aaa', ts)).toBe(false);
    // Past the window the timestamp check refuses the request anyway: the entries are dropped, so
    // memory holds only the last five minutes of requests.
    nowMs += 2 * 60_000;
    expect(cache.firstTime('v0=ccc', nowMs / 1000)).toBe(true);
    expect(cache.size).toBe(1);
  });
});
