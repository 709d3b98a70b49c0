import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const RACER = resolve('test/helpers/lock-racer.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Replays the racers' shared log; every line where a second holder entered while one was inside. */
function overlaps(log: string): string[] {
  const bad: string[] = [];
  let inside: string | undefined;
  for (const line of log.trim().split('\n')) {
    const [what, pid] = line.split(' ');
    if (what === 'enter') {
      if (inside !== undefined) bad.push(`${line} while ${inside} held the lock`);
      inside = pid;
    } else if (what === 'exit') {
      if (inside !== pid) bad.push(`${line} while ${inside ?? 'nobody'} held the lock`);
      inside = undefined;
    }
  }
  return bad;
}

describe('StackLock across processes', () => {
  for (const [what, crashEvery] of [
    ['8 processes racing 40 rounds each never hold it together', '0'],
    ['…nor when every 5th round dies holding it, so they race to take over stale locks', '5'],
  ] as const) {
    it(what, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'doomlockrace-'));
      dirs.push(dir);
      const log = join(dir, 'holders.log');
      const lockDir = join(dir, 'locks');
      // The built module (dist/) is what the racers load: `npm run build` first.
      const racers = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          execa('node', [RACER, lockDir, log, '40', crashEvery], { timeout: 60_000, stderr: 'inherit' }),
        ),
      );
      expect(racers.filter((r) => r.status === 'rejected')).toEqual([]);
      const lines = readFileSync(log, 'utf8');
      expect(lines.match(/^enter /gm)).toHaveLength(8 * 40);
      expect(overlaps(lines)).toEqual([]);
    }, 90_000);
  }
});
