import { describe, expect, it } from 'vitest';
import { displayUrl, resticFailure } from '../../src/adapters/restic/errors.js';
import { applyPolicy, isoWeek } from '../../src/backup/prune.js';

describe('restic repository URLs shown to users', () => {
  it('mask the whole password, even one holding "@" or "/" (restic splits at the last "@")', () => {
    expect(displayUrl('rest:http://alice:s3cret@127.0.0.1:8000/repo')).toBe(
      'rest:http://alice:***@127.0.0.1:8000/repo',
    );
    expect(displayUrl('rest:http://alice:p@ssS3cret@127.0.0.1:1/repo')).toBe(
      'rest:http://alice:***@127.0.0.1:1/repo',
    );
    expect(displayUrl('rest:http://alice:pa/ssS3cret@host/x')).not.toContain('ssS3cret');
    expect(displayUrl('sftp:backup@host:/srv/restic')).toBe('sftp:backup@host:/srv/restic');
  });
});

describe('restic failures', () => {
  const ctx = {
    what: 'list the snapshots',
    repo: 'rest:http://127.0.0.1:1/repo',
    passwordSource: 'the file /k',
    binary: 'restic',
  };
  it('a server that does not answer is unreachable, not "no repository" (restic prints both lines)', () => {
    const err = resticFailure(
      {
        code: 1,
        signal: null,
        interrupted: false,
        stderr:
          'Fatal: unable to open config file: Head "http://127.0.0.1:1/repo/config": dial tcp 127.0.0.1:1: connect: connection refused\nIs there a repository at the following location?\nrest:http://127.0.0.1:1/repo\n',
      },
      ctx,
    );
    expect(err.code).toBe('upstream_unavailable');
    expect(err.message).toMatch(/cannot reach the repository's server/);
  });
  it('a local path without a repository is not found', () => {
    const err = resticFailure(
      {
        code: 1,
        signal: null,
        interrupted: false,
        stderr:
          'Fatal: unable to open config file: stat /x/config: no such file or directory\nIs there a repository at the following location?\n/x\n',
      },
      { ...ctx, repo: '/x' },
    );
    expect(err.code).toBe('not_found');
  });
});

describe("retention with restic's forget semantics", () => {
  const at = (iso: string, id: string) => ({ id, time: iso });
  it('keep-daily keeps the newest of each of the last N days that have one; keep-weekly by ISO week', () => {
    const snaps = [
      at('2026-12-03T03:00:00Z', 'd3b'),
      at('2026-12-03T01:00:00Z', 'd3a'),
      at('2026-12-02T03:00:00Z', 'd2'),
      at('2026-11-25T03:00:00Z', 'w48'),
      at('2026-11-18T03:00:00Z', 'w47'),
    ];
    expect(applyPolicy(snaps, { last: 0, daily: 2, weekly: 0 })).toEqual({
      keep: ['d3b', 'd2'],
      remove: ['d3a', 'w48', 'w47'],
    });
    expect(applyPolicy(snaps, { last: 0, daily: 1, weekly: 3 }).keep).toEqual(['d3b', 'w48', 'w47']);
    expect(applyPolicy(snaps, { last: 2, daily: 0, weekly: 0 }).keep).toEqual(['d3b', 'd3a']);
  });
  it('days and weeks are the snapshot time in its own offset, as restic buckets them', () => {
    expect(isoWeek('2026-11-23T00:30:00+01:00')).toBe('2026-W48');
    expect(isoWeek('2026-11-22T23:59:59Z')).toBe('2026-W47');
    expect(isoWeek('2027-01-01T00:00:00Z')).toBe('2026-W53');
    // 23:30 on the 2nd in UTC-05:00 is the 3rd in UTC: restic counts it on the 2nd.
    expect(
      applyPolicy([at('2026-12-02T23:30:00-05:00', 'a'), at('2026-12-02T10:00:00-05:00', 'b')], {
        last: 0,
        daily: 5,
        weekly: 0,
      }).keep,
    ).toEqual(['a']);
  });
});
