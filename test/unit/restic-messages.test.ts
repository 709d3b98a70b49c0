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
  it('a repository restic cannot lock is named read-only, with the first reason and without the Go stack', () => {
    // restic 0.14's stderr for `cat config` on a repository whose locks/ this user may not write.
    const stderr = [
      'Save(<lock/f67b9f1139>) returned error, retrying after 552.330144ms: open /srv/r/locks/f67b-tmp-315245760: permission denied',
      'Save(<lock/f67b9f1139>) returned error, retrying after 1.080381816s: open /srv/r/locks/f67b-tmp-2196300863: permission denied',
      'open /srv/r/locks/14012d7-tmp-1959893683: permission denied',
      'github.com/restic/restic/internal/backend/local.(*Local).Save',
      '\tgithub.com/restic/restic/internal/backend/local/local.go:153',
      'github.com/restic/restic/internal/backend.(*RetryBackend).Save.func1',
      '\tgithub.com/restic/restic/internal/backend/backend_retry.go:66',
      'main.lockRepo',
      '\truntime/asm_amd64.s:1594',
      'unable to create lock in backend',
      '',
    ].join('\n');
    const err = resticFailure(
      { code: 1, signal: null, interrupted: false, stderr },
      { ...ctx, repo: '/srv/r' },
    );
    expect(err.code).toBe('failed');
    expect(err.message).toMatch(
      /^cannot list the snapshots: restic could not write its lock into restic repository \/srv\/r \(.*permission denied\); the repository is read-only to this user$/,
    );
    expect(err.hint).toMatch(/need no lock/);
    expect(err.message).not.toMatch(/github\.com|\.go:|asm_amd64|main\.lockRepo/);
    // Any other restic failure with a stack: the frames are left out of the detail too.
    const other = resticFailure(
      {
        code: 1,
        signal: null,
        interrupted: false,
        stderr: 'something broke\nmain.main\n\truntime/proc.go:250\n',
      },
      ctx,
    );
    expect(other.message).toBe('cannot list the snapshots: restic failed (exit 1): something broke');
  });

  it('a local repository this user may not read says so, not "cannot reach the server"', () => {
    const err = resticFailure(
      {
        code: 1,
        signal: null,
        interrupted: false,
        stderr: 'Fatal: unable to open repository at /srv/r: ReadDir: open /srv/r/keys: permission denied\n',
      },
      { ...ctx, repo: '/srv/r' },
    );
    expect(err.code).toBe('failed');
    expect(err.message).toBe(
      'cannot list the snapshots: this user may not read restic repository /srv/r: ReadDir: open /srv/r/keys: permission denied',
    );
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
