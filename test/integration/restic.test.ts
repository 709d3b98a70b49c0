import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryPassword } from '../../src/adapters/restic/password.js';
import {
  type BackupStreamResult,
  DamagedSnapshotsError,
  ResticRepository,
  type ResticRepositoryConfig,
  UnreadableFilesError,
} from '../../src/adapters/restic/repository.js';
import { ToolError } from '../../src/errors.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { type RcloneWebdav, startRcloneWebdav } from '../helpers/rclone-server.js';
import { type SftpServer, startSftpServer } from '../helpers/sftp-server.js';

// restic itself, OpenSSH's sshd and rclone on 127.0.0.1; no Docker. `npm test` installs them with
// scripts/ensure-backup-tools.sh.

const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'doom-restic-'));
const passwordFile = join(root, 'password');
/** restic's cache goes under the test's own dir, not ~/.cache/restic. */
const env = { RESTIC_CACHE_DIR: join(root, 'cache') };

function repo(name: string, extra: Partial<ResticRepositoryConfig> = {}): ResticRepository {
  return new ResticRepository({ url: join(root, name), password: { file: passwordFile }, env, ...extra });
}

/**
 * `bytes` of test data, the same for the same seed: the first half pseudo-random (AES-CTR keystream:
 * incompressible), the second half numbered text lines (compressible), in 1 MiB chunks made as they
 * are read. `onChunk(bytesSoFar)` runs before each chunk.
 */
function mixed(bytes: number, seed: number, onChunk?: (soFar: number) => void): Readable {
  const key = createHash('sha256').update(`seed ${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const half = Math.floor(bytes / 2);
  let line = 0;
  async function* chunks() {
    for (let done = 0; done < bytes; ) {
      onChunk?.(done);
      const n = Math.min(MiB, bytes - done);
      const randomPart = Math.max(0, Math.min(n, half - done));
      const parts: Buffer[] = [];
      if (randomPart > 0) parts.push(cipher.update(Buffer.alloc(randomPart)));
      let text = '';
      while (text.length < n - randomPart)
        text += `${line++} seed=${seed} the handbook says: back up every component, check the repository\n`;
      parts.push(Buffer.from(text.slice(0, n - randomPart)));
      done += n;
      yield Buffer.concat(parts);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

async function sha256(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  return total;
}

/** The rejection of `p` (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<ToolError> {
  const r = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(r).toBeInstanceOf(ToolError);
  return r as ToolError;
}

beforeAll(async () => {
  await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('local restic repository', () => {
  const local = repo('local');
  const expected20 = sha256(mixed(20 * MiB, 1));
  let first: BackupStreamResult;

  it('is created on first use, and ensuring it again (also concurrently) changes nothing', async () => {
    const made = await local.ensureRepository();
    expect(made.created).toBe(true);
    expect(made.version).toBe(2);
    const again = await local.ensureRepository();
    expect(again).toEqual({ created: false, id: made.id, version: 2 });

    // restic 0.14's own init is not atomic: two at once leave a repository with two master keys
    // that one of them cannot open ("config or key … is damaged"). Two instances whose URLs differ
    // (`local:` prefix) are not serialized in-process, like two processes: the temp-dir-and-rename
    // creation makes one of them win. The same URL twice is serialized in-process.
    for (const round of [1, 2]) {
      const dir = join(root, `racing-${round}`);
      const racers = [
        repo(`racing-${round}`),
        new ResticRepository({ url: `local:${dir}`, password: { file: passwordFile }, env }),
        repo(`racing-${round}`),
      ];
      const all = await Promise.all(racers.map((r) => r.ensureRepository()));
      expect(new Set(all.map((a) => a.id)).size).toBe(1);
      expect(all.filter((a) => a.created)).toHaveLength(1);
      expect(await readdir(join(dir, 'keys'))).toHaveLength(1);
      expect(await racers[1]!.snapshots()).toEqual([]);
      expect((await readdir(root)).filter((f) => f.includes('.init-'))).toEqual([]);
    }
  });

  it('stores a 20 MiB stream (half random, half text) and dump gives back the same bytes', async () => {
    first = await local.backupStream(mixed(20 * MiB, 1), {
      filename: 'volumes/data.tar',
      tags: ['stack=t', 'component=volumes', 'target=data'],
      host: 'doomtest',
    });
    expect(first.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(first.totalBytes).toBe(20 * MiB);
    // The random half cannot be deduplicated away on a first backup.
    expect(first.bytesAdded).toBeGreaterThan(10 * MiB);
    expect(await sha256(local.dump(first.snapshotId, 'volumes/data.tar'))).toBe(await expected20);
  });

  it('a second backup of the same stream adds almost nothing to the repository (deduplication)', async () => {
    const before = await dirBytes(join(root, 'local'));
    const second = await local.backupStream(mixed(20 * MiB, 1), {
      filename: 'volumes/data.tar',
      tags: ['stack=t', 'component=volumes', 'target=data'],
      host: 'doomtest',
    });
    const growth = (await dirBytes(join(root, 'local'))) - before;
    expect(second.snapshotId).not.toBe(first.snapshotId);
    expect(second.totalBytes).toBe(20 * MiB);
    // Only the new snapshot's tree and index: far below 1 % of the 20 MiB.
    expect(second.bytesAdded).toBeLessThan(64 * 1024);
    expect(growth).toBeLessThan(200 * 1024);
    expect(await sha256(local.dump(second.snapshotId, '/volumes/data.tar'))).toBe(await expected20);
  });

  it('snapshots carry their tags, host and path, and filter by tags (all of them)', async () => {
    const mongo = await local.backupStream(Readable.from([Buffer.from('mongodump archive')]), {
      filename: 'mongodb/main.archive',
      tags: ['stack=t', 'component=mongodb', 'target=main'],
      host: 'doomtest',
    });
    const all = await local.snapshots();
    expect(all).toHaveLength(3);
    const m = all.find((s) => s.id === mongo.snapshotId)!;
    expect(m).toMatchObject({
      tags: ['stack=t', 'component=mongodb', 'target=main'],
      paths: ['/mongodb/main.archive'],
      hostname: 'doomtest',
      shortId: mongo.snapshotId.slice(0, 8),
    });
    expect(Date.parse(m.time)).not.toBeNaN();
    expect((await local.snapshots({ tags: ['component=volumes'] })).map((s) => s.paths[0])).toEqual([
      '/volumes/data.tar',
      '/volumes/data.tar',
    ]);
    expect((await local.snapshots({ tags: ['stack=t', 'component=mongodb'] })).map((s) => s.id)).toEqual([
      mongo.snapshotId,
    ]);
    expect(await local.snapshots({ tags: ['stack=other', 'component=mongodb'] })).toEqual([]);
  });

  it('dump of a snapshot or file that does not exist fails the stream with not_found', async () => {
    const noSnapshot = await rejection(sha256(local.dump('deadbeef', 'volumes/data.tar')));
    expect(noSnapshot.code).toBe('not_found');
    expect(noSnapshot.message).toMatch(/no snapshot deadbeef/);
    const noFile = await rejection(sha256(local.dump(first.snapshotId, 'volumes/other.tar')));
    expect(noFile.code).toBe('not_found');
    expect(noFile.message).toMatch(/\/volumes\/other\.tar.*not found in snapshot/);
  });

  it('a dump the reader stops early ends restic cleanly: no lock left once the stream has closed', async () => {
    const stream = local.dump(first.snapshotId, 'volumes/data.tar');
    for await (const _chunk of stream) break; // one chunk of 20 MiB, then stop (destroys the stream)
    if (!stream.closed) await once(stream, 'close');
    expect(await readdir(join(root, 'local', 'locks'))).toEqual([]);
    expect(await local.check()).toEqual({ ok: true, errors: [] });

    const abort = new AbortController();
    const aborted = local.dump(first.snapshotId, 'volumes/data.tar', abort.signal);
    const err = await rejection(
      (async () => {
        for await (const _chunk of aborted) abort.abort();
      })(),
    );
    expect(err.code).toBe('cancelled');
    if (!aborted.closed) await once(aborted, 'close');
    expect(await readdir(join(root, 'local', 'locks'))).toEqual([]);
  });

  it('an aborted backup stops restic mid-stream: no snapshot, no lock left, the input stops', async () => {
    const abort = new AbortController();
    let produced = 0;
    // 1 GiB offered; the abort comes once 8 MiB have been produced (restic has read most of it).
    const input = mixed(1024 * MiB, 7, (soFar) => {
      produced = soFar;
      if (soFar >= 8 * MiB) abort.abort();
    });
    const err = await rejection(
      local.backupStream(input, { filename: 'volumes/big.tar', tags: ['abort-test'], signal: abort.signal }),
    );
    expect(err.code).toBe('cancelled');
    expect(err.message).toMatch(/no snapshot was saved/);
    expect(await local.snapshots({ tags: ['abort-test'] })).toEqual([]);
    expect(await local.snapshots()).toHaveLength(3);
    // SIGINT, not SIGTERM: restic 0.14 removes its lock only on SIGINT.
    expect(await readdir(join(root, 'local', 'locks'))).toEqual([]);
    expect(produced).toBeLessThan(64 * MiB);
    expect(input.destroyed).toBe(true);
  });

  it('an input stream that fails stops restic without a snapshot and reports the input error', async () => {
    // The input fails only after restic has read part of it (its progress says so), so an end of
    // input sent to restic at that point would be saved as a snapshot of the partial data.
    let resticRead: () => void = () => {};
    const readSome = new Promise<void>((r) => {
      resticRead = r;
    });
    async function* failing() {
      for (let i = 0; i < 4; i++) yield Buffer.alloc(MiB, i);
      await readSome;
      throw new Error('exec stream ended: container died');
    }
    const err = await rejection(
      local.backupStream(Readable.from(failing()), {
        filename: 'volumes/cut.tar',
        tags: ['cut-test'],
        onProgress: (bytes) => {
          if (bytes >= MiB) resticRead();
        },
      }),
    );
    expect(err.code).toBe('failed');
    expect(err.message).toMatch(/reading the data failed \(exec stream ended: container died\).*no snapshot/);
    expect(await local.snapshots({ tags: ['cut-test'] })).toEqual([]);
    expect(await readdir(join(root, 'local', 'locks'))).toEqual([]);
  });

  it('a wrong password is a clear error that names where the password came from', async () => {
    const badFile = join(root, 'wrong-password');
    await writeFile(badFile, 'not the password');
    const wrong = new ResticRepository({ url: join(root, 'local'), password: { file: badFile }, env });
    const err = await rejection(wrong.snapshots());
    expect(err.code).toBe('config_invalid');
    expect(err.message).toContain(`wrong password for restic repository ${join(root, 'local')}`);
    expect(err.message).toContain(`the file ${badFile}`);
    // ensureRepository must not mistake it for a missing repository and init over it.
    expect((await rejection(wrong.ensureRepository())).code).toBe('config_invalid');
    // restic's copy does not say which side's password is wrong; the error does.
    const copyErr = await rejection(wrong.copyTo(repo('racing-1')));
    expect(copyErr.code).toBe('config_invalid');
    expect(copyErr.message).toContain(`wrong password for restic repository ${join(root, 'local')}`);
  });

  it('no repository at the URL is not_found; restic not installed says how to install it', async () => {
    await mkdir(join(root, 'empty-dir'));
    const none = repo('empty-dir');
    const err = await rejection(none.snapshots());
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(`there is no restic repository at ${join(root, 'empty-dir')}`);

    const missing = new ResticRepository(
      { url: join(root, 'local'), password: { file: passwordFile }, env },
      { binary: join(root, 'no-such-dir', 'restic') },
    );
    const notInstalled = await rejection(missing.snapshots());
    expect(notInstalled.code).toBe('upstream_unavailable');
    expect(notInstalled.message).toMatch(/restic is not installed/);
    expect(notInstalled.hint).toMatch(/apt-get install restic/);
    const dumped = await rejection(sha256(missing.dump(first.snapshotId, 'volumes/data.tar')));
    expect(dumped.message).toMatch(/restic is not installed/);
  });

  it('a lock left by a killed restic is named with `restic unlock`; unlock() removes it', async () => {
    // A restic backup that waits for its stdin holds a lock; SIGKILL leaves that lock behind.
    const child = execa('restic', ['--repo', join(root, 'local'), 'backup', '--stdin'], {
      env: { ...env, RESTIC_PASSWORD_FILE: passwordFile },
      stdin: 'pipe',
      reject: false,
    });
    child.stdin!.write('partial');
    const locks = join(root, 'local', 'locks');
    // Wait until the lock is whole on disk (restic can read it back), not just created: a kill
    // between creating and writing the file would leave an unreadable lock instead.
    const lockReadable = async () => {
      const names = await readdir(locks).catch(() => [] as string[]);
      for (const id of names) {
        const r = await execa('restic', ['--repo', join(root, 'local'), '--no-lock', 'cat', 'lock', id], {
          env: { ...env, RESTIC_PASSWORD_FILE: passwordFile },
          reject: false,
        });
        if (r.exitCode === 0) return true;
      }
      return false;
    };
    while (!(await lockReadable())) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await child;
    const err = await rejection(local.check());
    expect(err.code).toBe('busy');
    expect(err.message).toMatch(new RegExp(`locked by PID ${child.pid} on \\S+ by`));
    expect(err.hint).toContain(`restic -r ${join(root, 'local')} unlock`);
    await local.unlock();
    expect(await readdir(locks)).toEqual([]);
    expect(await local.check()).toEqual({ ok: true, errors: [] });
  });
});

describe('directory backups (backupDirectory, dumpTree)', () => {
  const local = repo('dirs');
  const data = join(root, 'vol', '_data');

  beforeAll(async () => {
    await local.ensureRepository();
    await mkdir(join(data, 'sub'), { recursive: true });
    await writeFile(join(data, 'a.txt'), 'alpha\n');
    await writeFile(join(data, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
    await writeFile(join(data, 'owned'), 'by 1234\n', { mode: 0o640 });
    await execa('chown', ['1234:2345', join(data, 'owned')]);
    await execa('ln', ['-s', 'a.txt', join(data, 'link')]);
    // The directory itself has an owner and mode of its own (a service running as uid 999).
    await execa('chown', ['999:998', data]);
    await chmod(data, 0o750);
  });

  it('stores the directory file by file; a second run reads no unchanged file; one change is one file read', async () => {
    const first = await local.backupDirectory(data, { host: 'doomtest', tags: ['role=data'] });
    expect(first.files).toBe(3);
    expect(first.totalBytes).toBe(6 + 300_000 + 8);
    const [snap] = await local.snapshots({ tags: ['role=data'] });
    expect(snap?.paths).toEqual([data]);
    const again = await local.backupDirectory(data, { host: 'doomtest', tags: ['role=data'] });
    expect(again.filesUnchanged).toBe(3);
    expect(again.bytesAdded).toBeLessThan(10_000);
    await writeFile(join(data, 'a.txt'), 'alpha, changed\n');
    const third = await local.backupDirectory(data, { host: 'doomtest', tags: ['role=data'], fullId: false });
    expect(third.filesUnchanged).toBe(2);
    expect(third.snapshotId).toMatch(/^[0-9a-f]{8}$/);
  });

  it('dumpTree gives a tar of the directory itself and its content, with owners and modes', async () => {
    const snaps = await local.snapshots({ tags: ['role=data'] });
    const tar = local.dumpTree(snaps.at(-1)!.id);
    const out = join(root, 'untar');
    await mkdir(out);
    const x = execa('tar', ['-x', '-p', '--numeric-owner', '-C', out]);
    tar.pipe(x.stdin!);
    await x;
    expect(await readdir(out)).toEqual(['_data']);
    const top = await stat(join(out, '_data'));
    expect([top.uid, top.gid, top.mode & 0o777]).toEqual([999, 998, 0o750]);
    expect(await readdir(join(out, '_data'))).toEqual(
      expect.arrayContaining(['a.txt', 'sub', 'owned', 'link']),
    );
    expect(await readFile(join(out, '_data', 'a.txt'), 'utf8')).toBe('alpha, changed\n');
    const owned = await stat(join(out, '_data', 'owned'));
    expect([owned.uid, owned.gid, owned.mode & 0o777]).toEqual([1234, 2345, 0o640]);
    expect((await stat(join(out, '_data', 'sub', 'b.bin'))).size).toBe(300_000);
  });

  it('a file that vanished while restic read the directory keeps the snapshot, with a warning', async () => {
    // restic's exit 3 for a file deleted between its listing and its read (errno 2), reproduced by a
    // wrapper around the real restic: any error but a permission one leaves a usable snapshot.
    const wrapper = join(root, 'restic-vanished');
    await writeFile(
      wrapper,
      `#!/bin/sh\nrestic "$@" || exit $?\nif [ "$1" = backup ]; then echo '{"message_type":"error","error":{"Op":"lstat","Path":"gone.tmp","Err":2},"during":"archival","item":"${data}/gone.tmp"}' >&2; exit 3; fi\n`,
      { mode: 0o755 },
    );
    const viaWrapper = new ResticRepository(
      { url: join(root, 'dirs'), password: { file: passwordFile }, env },
      { binary: wrapper },
    );
    const r = await viaWrapper.backupDirectory(data, { host: 'doomtest', tags: ['role=data'] });
    expect(r.warnings.join(' ')).toContain('gone.tmp (errno 2)');
    expect(r.filesUnchanged).toBe(3);
    expect((await local.snapshots({ tags: ['role=data'] })).map((s) => s.id)).toContain(r.snapshotId);
  });

  it('a directory with a file restic may not read fails with the path, and leaves no snapshot; a repository it may only read is read without a lock', async () => {
    // restic run as nobody (setpriv): root's 0600 file is unreadable to it, as to a doom-ops not run as root.
    const shared = mkdtempSync(join(tmpdir(), 'doom-restic-nobody-'));
    try {
      await chmod(shared, 0o755);
      const pw = join(shared, 'pw');
      await writeFile(pw, 'nobody knows\n', { mode: 0o644 });
      const wrapper = join(shared, 'restic-as-nobody');
      await writeFile(
        wrapper,
        '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups restic "$@"\n',
        { mode: 0o755 },
      );
      await mkdir(join(shared, 'r'));
      await mkdir(join(shared, 'cache'));
      await mkdir(join(shared, 'dir'));
      await execa('chown', ['65534:65534', join(shared, 'r'), join(shared, 'cache')]);
      await writeFile(join(shared, 'dir', 'open.txt'), 'anyone\n', { mode: 0o644 });
      await writeFile(join(shared, 'dir', 'secret.key'), 'root only\n', { mode: 0o600 });
      const nobody = new ResticRepository(
        {
          url: join(shared, 'r', 'repo'),
          password: { file: pw },
          env: { RESTIC_CACHE_DIR: join(shared, 'cache') },
        },
        { binary: wrapper },
      );
      await nobody.ensureRepository();
      const err = await rejection(nobody.backupDirectory(join(shared, 'dir'), { host: 'doomtest' }));
      expect(err).toBeInstanceOf(UnreadableFilesError);
      expect((err as UnreadableFilesError).paths.join(' ')).toContain('secret.key');
      expect(err.message).toMatch(
        /could not read 1 item\(s\) \(.*secret\.key \(permission denied\)\); the incomplete snapshot was removed/,
      );
      expect(await nobody.snapshots()).toEqual([]);

      // A directory it may not list: restic reports it with no errno ({}), and its snapshot would
      // silently lack the directory; it is unreadable as well, named once.
      await rm(join(shared, 'dir', 'secret.key'));
      await mkdir(join(shared, 'dir', 'private'), { mode: 0o700 });
      await writeFile(join(shared, 'dir', 'private', 'inside.txt'), 'root only\n');
      const dirErr = await rejection(nobody.backupDirectory(join(shared, 'dir'), { host: 'doomtest' }));
      expect(dirErr).toBeInstanceOf(UnreadableFilesError);
      expect((dirErr as UnreadableFilesError).paths).toEqual([
        `${join(shared, 'dir', 'private')} (restic gave no reason: a directory it could not list, or a file that changed type)`,
      ]);
      expect((dirErr as UnreadableFilesError).removal).toBe('the incomplete snapshot was removed');
      expect(await nobody.snapshots()).toEqual([]);

      // A repository it may read but not write (another user's, a read-only mount): reads take no lock.
      await rm(join(shared, 'dir', 'private'), { recursive: true });
      const saved = await nobody.backupDirectory(join(shared, 'dir'), { host: 'doomtest' });
      await execa('chown', ['-R', '0:0', join(shared, 'r', 'repo')]);
      await execa('chmod', ['-R', 'a+rX,a-w', join(shared, 'r', 'repo')]);
      expect((await nobody.snapshots()).map((x) => x.id)).toEqual([saved.snapshotId]);
      const dumped = await new Response(
        Readable.toWeb(nobody.dump(saved.snapshotId, '/dir/open.txt')) as ReadableStream,
      ).text();
      expect(dumped).toBe('anyone\n');
      await execa('chmod', ['-R', 'u+w', join(shared, 'r', 'repo')]);
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('rejects a relative directory', async () => {
    await expect(local.backupDirectory('vol/_data', {})).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('retention per group (forget --group-by tags)', () => {
  const r = repo('retention');
  const ids: Record<string, string> = {};
  const small = (text: string) => Readable.from([Buffer.from(text)]);

  beforeAll(async () => {
    await r.ensureRepository();
    // volumes backed up once, then mongodb three times (all today): the volumes snapshot is the oldest.
    ids.v1 = (
      await r.backupStream(small('volumes 1'), { filename: 'volumes/data.tar', tags: ['component=volumes'] })
    ).snapshotId;
    for (const n of [1, 2, 3])
      ids[`m${n}`] = (
        await r.backupStream(small(`mongodb ${n}`), {
          filename: 'mongodb/main.archive',
          tags: ['component=mongodb'],
        })
      ).snapshotId;
  });

  it('keeps the newest snapshot of each component; one group for all would drop the only volumes backup', async () => {
    const policy = { keepDaily: 1, keepWeekly: 0, dryRun: true, prune: false };
    const perComponent = await r.forget({ ...policy, groupBy: 'tags' });
    const byTag = Object.fromEntries(perComponent.groups.map((g) => [g.tags.join(','), g]));
    expect(byTag['component=volumes']).toMatchObject({ keep: [ids.v1], remove: [] });
    expect(byTag['component=mongodb']!.keep).toEqual([ids.m3]);
    expect([...byTag['component=mongodb']!.remove].sort()).toEqual([ids.m1, ids.m2].sort());

    // The failure mode grouping prevents: one group keeps only the newest snapshot overall.
    const oneGroup = await r.forget({ ...policy, groupBy: '' });
    expect(oneGroup.groups).toHaveLength(1);
    expect(oneGroup.groups[0]!.remove).toContain(ids.v1);

    expect(await r.snapshots()).toHaveLength(4); // dry runs removed nothing
  });

  it('forget with prune removes the older mongodb snapshots and their data; the volumes snapshot stays readable', async () => {
    const done = await r.forget({ keepDaily: 1, keepWeekly: 4, groupBy: 'tags', dryRun: false, prune: true });
    expect(done.prune.ran).toBe(true);
    expect(done.prune.report).toMatch(/remaining:/);
    expect((await r.snapshots()).map((s) => s.id).sort()).toEqual([ids.v1, ids.m3].sort());
    expect(await sha256(r.dump(ids.v1!, 'volumes/data.tar'))).toBe(
      createHash('sha256').update('volumes 1').digest('hex'),
    );
    // With a tag filter, only that component's snapshots are considered.
    const onlyMongo = await r.forget({
      keepDaily: 1,
      keepWeekly: 0,
      groupBy: '',
      tags: ['component=mongodb'],
      dryRun: true,
      prune: false,
    });
    expect(onlyMongo.groups.flatMap((g) => [...g.keep, ...g.remove])).toEqual([ids.m3]);
  });

  it('refuses a policy that keeps nothing', async () => {
    const err = await rejection(
      r.forget({ keepDaily: 0, keepWeekly: 0, groupBy: 'tags', dryRun: true, prune: false }),
    );
    expect(err.code).toBe('invalid_input');
  });
});

describe('the listing cache of a local repository', () => {
  it('answers without running restic while snapshots/ is unchanged, and lists again when it changes', async () => {
    const log = join(root, 'listing-runs.log');
    const wrapper = join(root, 'restic-logged');
    await writeFile(wrapper, `#!/bin/sh\necho "$*" >> ${log}\nexec restic "$@"\n`, { mode: 0o755 });
    const cache = join(root, 'listing-cache.json');
    const r = new ResticRepository(
      { url: join(root, 'listed'), password: { file: passwordFile }, env },
      { binary: wrapper, listingCache: cache },
    );
    await r.ensureRepository();
    const small = (text: string) => Readable.from([Buffer.from(text)]);
    const a = await r.backupStream(small('a'), { filename: 'a', tags: ['role=a', 'stack=x'] });
    const listings = async () =>
      (await readFile(log, 'utf8')).split('\n').filter((l) => /(^| )snapshots /.test(l)).length;
    const before = await listings();
    expect((await r.snapshots({ tags: ['stack=x'], cached: true })).map((x) => x.id)).toEqual([a.snapshotId]);
    expect(await listings()).toBe(before + 1);
    // Unchanged: from the cache, filtered by tags there.
    expect((await r.snapshots({ tags: ['stack=x'], cached: true })).map((x) => x.id)).toEqual([a.snapshotId]);
    expect(await r.snapshots({ tags: ['stack=y'], cached: true })).toEqual([]);
    expect(await listings()).toBe(before + 1);
    // Without `cached`, restic runs (it checks the password and every snapshot file).
    await r.snapshots({ tags: ['stack=x'] });
    expect(await listings()).toBe(before + 2);
    // A new snapshot, then a forgotten one: listed again each time.
    const b = await r.backupStream(small('b'), { filename: 'b', tags: ['role=b', 'stack=x'] });
    let n = await listings();
    expect((await r.snapshots({ tags: ['stack=x'], cached: true })).map((x) => x.id)).toEqual([
      a.snapshotId,
      b.snapshotId,
    ]);
    expect(await listings()).toBe(n + 1);
    await r.forgetIds([a.snapshotId]);
    n = await listings();
    expect((await r.snapshots({ tags: ['stack=x'], cached: true })).map((x) => x.id)).toEqual([b.snapshotId]);
    expect(await r.snapshots({ tags: ['stack=x'], cached: true })).toHaveLength(1);
    expect(await listings()).toBe(n + 1);

    // A writer that records what it saved (short ids, as a backup learns them) and what it forgot
    // keeps the cache current: the next cached listing needs no restic run, and matches restic's.
    const c = await r.backupStream(small('c'), { filename: 'c', tags: ['role=c', 'stack=x'], fullId: false });
    await r.forgetIds([b.snapshotId]);
    const time = new Date().toISOString();
    await r.recordInListingCache(
      [{ id: c.snapshotId, tags: ['role=c', 'stack=x'], paths: ['/c'], hostname: 'h', time }],
      [b.snapshotId],
    );
    n = await listings();
    const fromCache = await r.snapshots({ tags: ['stack=x'], cached: true });
    expect(await listings()).toBe(n);
    expect(fromCache.map((x) => x.id)).toEqual((await r.snapshots({ tags: ['stack=x'] })).map((x) => x.id));
    expect(fromCache[0]!.id.startsWith(c.snapshotId)).toBe(true);
    // A snapshot it did not record (another writer): the cache is not taken, restic lists again.
    await r.backupStream(small('d'), { filename: 'd', tags: ['stack=x'] });
    await r.recordInListingCache([]);
    n = await listings();
    expect(await r.snapshots({ tags: ['stack=x'], cached: true })).toHaveLength(2);
    expect(await listings()).toBe(n + 1);
  });
});

describe('snapshot files restic cannot load', () => {
  const r = repo('damaged-snapshots');

  it('listing fails with DamagedSnapshotsError naming them and carrying what could be listed', async () => {
    await r.ensureRepository();
    const small = (text: string) => Readable.from([Buffer.from(text)]);
    const a = await r.backupStream(small('a'), { filename: 'a', tags: ['role=a'] });
    const b = await r.backupStream(small('b'), { filename: 'b', tags: ['role=b'] });
    // Cut short (a full disk, a copy interrupted), and then not decryptable at all.
    const file = join(root, 'damaged-snapshots', 'snapshots', a.snapshotId);
    await chmod(file, 0o600);
    await truncate(file, 20);
    // restic reads snapshot files through its local cache: the damage shows once the cached copy is gone.
    for (const c of await readdir(join(root, 'cache'), { withFileTypes: true }))
      if (c.isDirectory())
        await rm(join(root, 'cache', c.name, 'snapshots', a.snapshotId.slice(0, 2), a.snapshotId), {
          force: true,
        });
    for (const tags of [[], ['role=a']]) {
      const err = await rejection(r.snapshots({ tags }));
      expect(err).toBeInstanceOf(DamagedSnapshotsError);
      expect(err.message).toMatch(
        new RegExp(`restic could not load 1 snapshot file\\(s\\) of it \\(${a.snapshotId.slice(0, 8)} \\(`),
      );
      expect((err as DamagedSnapshotsError).unreadable).toHaveLength(1);
    }
    expect((await rejection(r.snapshots())) as DamagedSnapshotsError).toMatchObject({
      readable: [expect.objectContaining({ id: b.snapshotId })],
    });
    await writeFile(file, 'garbage');
    for (const c of await readdir(join(root, 'cache'), { withFileTypes: true }))
      if (c.isDirectory())
        await rm(join(root, 'cache', c.name, 'snapshots', a.snapshotId.slice(0, 2), a.snapshotId), {
          force: true,
        });
    expect((await rejection(r.snapshots())).message).toMatch(/could not load 1 snapshot file/);
  });
});

describe('restic check', () => {
  const r = repo('checked');

  it('passes on a sound repository and names the pack when one is corrupted', async () => {
    await r.ensureRepository();
    await r.backupStream(mixed(6 * MiB, 3), { filename: 'volumes/x.tar', tags: ['component=volumes'] });
    expect(await r.check()).toEqual({ ok: true, errors: [] });
    expect(await r.check({ readDataSubset: '100%' })).toEqual({ ok: true, errors: [] });

    // The biggest pack under data/ holds the random half of the stream.
    const packs: Array<{ file: string; size: number; name: string }> = [];
    for (const e of await readdir(join(root, 'checked', 'data'), { withFileTypes: true, recursive: true }))
      if (e.isFile()) {
        const file = join(e.parentPath, e.name);
        packs.push({ file, name: e.name, size: (await stat(file)).size });
      }
    const pack = packs.sort((a, b) => b.size - a.size)[0]!;
    await chmod(pack.file, 0o600); // restic writes packs read-only
    const fh = await open(pack.file, 'r+');
    await fh.write(Buffer.from('corrupted by the test'), 0, 21, Math.floor(pack.size / 2));
    await fh.close();

    const altered = await r.check({ readDataSubset: '100%' });
    expect(altered.ok).toBe(false);
    expect(altered.errors.join('\n')).toContain(pack.name);

    await truncate(pack.file, pack.size - 100);
    const cut = await r.check();
    expect(cut.ok).toBe(false);
    expect(cut.errors.join('\n')).toMatch(new RegExp(`pack ${pack.name}: unexpected file size`));
  });
});

describe('sftp repository (OpenSSH on 127.0.0.1)', () => {
  let sftp: SftpServer;
  const source = repo('copy-source');
  const expected = sha256(mixed(8 * MiB, 5));

  beforeAll(async () => {
    sftp = await startSftpServer();
    process.env.DOOM_TEST_SFTP_PASSWORD = 'offsite secret, not the local one';
  });
  afterAll(async () => {
    delete process.env.DOOM_TEST_SFTP_PASSWORD;
    await sftp?.stop();
  });

  it('copyTo fills the sftp repository, and dump from it works with the local repository deleted', async () => {
    await source.ensureRepository();
    const made = await source.backupStream(mixed(8 * MiB, 5), {
      filename: 'volumes/data.tar',
      tags: ['stack=t', 'component=volumes'],
    });
    await source.backupStream(Readable.from([Buffer.from('not copied')]), {
      filename: 'mongodb/main.archive',
      tags: ['stack=t', 'component=mongodb'],
    });
    const offsite = new ResticRepository({
      url: sftp.url('offsite'),
      password: { env: 'DOOM_TEST_SFTP_PASSWORD' },
      options: [sftp.option],
      env,
    });
    expect((await offsite.ensureRepository({ chunkerParamsFrom: source })).created).toBe(true);
    const copy = await source.copyTo(offsite, { tags: ['component=volumes'] });
    expect(copy.copied).toHaveLength(1);
    expect(copy.copied[0]!.source).toBe(made.snapshotId);
    // Copying again copies nothing new and reports the same copy.
    expect(await source.copyTo(offsite, { snapshotIds: [made.snapshotId] })).toEqual(copy);
    expect(await offsite.snapshots()).toHaveLength(1);
    expect(existsSync(join(sftp.dir, 'repos', 'offsite', 'config'))).toBe(true);

    await rm(join(root, 'copy-source'), { recursive: true });
    expect((await rejection(source.snapshots())).code).toBe('not_found');
    expect(await sha256(offsite.dump(copy.copied[0]!.target, 'volumes/data.tar'))).toBe(await expected);
  });

  it('an sftp server that is down is reported as unreachable', async () => {
    const port = sftp.port;
    const down = new ResticRepository({
      url: sftp.url('offsite'),
      password: { env: 'DOOM_TEST_SFTP_PASSWORD' },
      options: [sftp.option.replace(`-p ${port}`, '-p 1')],
      env,
    });
    const err = await rejection(down.snapshots());
    expect(err.code).toBe('upstream_unavailable');
    // restic 0.14 passes ssh's own "Connection refused" on only sometimes; the hint says how to see it.
    expect(err.message).toContain(`cannot list the snapshots of restic repository ${sftp.url('offsite')}`);
    expect(err.message).toMatch(/cannot reach the repository's server: .*sftp session/);
    expect(err.hint).toMatch(/run that ssh command by hand/);
  });
});

describe('rclone repository (rclone serve webdav on 127.0.0.1)', () => {
  let dav: RcloneWebdav;
  beforeAll(async () => {
    dav = await startRcloneWebdav();
  });
  afterAll(async () => {
    await dav?.stop();
  });

  it('backup and dump round-trip through the WebDAV server', async () => {
    const r = new ResticRepository({
      url: dav.url('repo'),
      password: { file: passwordFile },
      env: { ...env, ...dav.env },
    });
    expect((await r.ensureRepository()).created).toBe(true);
    const made = await r.backupStream(mixed(8 * MiB, 9), {
      filename: 'duckdb/agent.duckdb',
      tags: ['component=duckdb'],
    });
    expect(made.totalBytes).toBe(8 * MiB);
    expect(await sha256(r.dump(made.snapshotId, 'duckdb/agent.duckdb'))).toBe(
      await sha256(mixed(8 * MiB, 9)),
    );
    // It really went through the server: the repository is in the served directory.
    expect(existsSync(join(dav.dir, 'repo', 'config'))).toBe(true);
    expect(await dirBytes(join(dav.dir, 'repo', 'data'))).toBeGreaterThan(4 * MiB);
  });
});

describe('password resolution', () => {
  it('generates a 0600 key for the local default repository once, and refuses an offsite one without a password', async () => {
    const stateDir = join(root, 'state');
    const made = await repositoryPassword('local', undefined, { stateDir });
    expect(made).toMatchObject({ source: 'generated', created: true });
    const file = join(stateDir, 'restic', 'local.key');
    expect(made.password).toEqual({ file });
    expect(made.location).toContain(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await repositoryPassword('local', undefined, { stateDir });
    expect(again).toMatchObject({ source: 'generated', created: false, password: { file } });
    // The key works as a restic password.
    const withKey = new ResticRepository({ url: join(root, 'generated'), password: made.password, env });
    expect((await withKey.ensureRepository()).created).toBe(true);

    const offsite = await rejection(repositoryPassword('offsite', undefined));
    expect(offsite.code).toBe('config_invalid');
    expect(offsite.hint).toMatch(/lost with it/);
    const unset = await rejection(repositoryPassword('offsite', { env: 'DOOM_TEST_UNSET_PASSWORD' }));
    expect(unset.message).toContain('environment variable DOOM_TEST_UNSET_PASSWORD, which is not set');
    expect(await repositoryPassword('offsite', { file: passwordFile })).toMatchObject({
      source: 'file',
      password: { file: passwordFile },
    });
  });
});

describe('reading never makes a key', () => {
  it('list, verify and prune on a fresh install say there is nothing yet and create no key file', async () => {
    const stateDir = join(root, 'fresh-state');
    const dir = join(root, 'fresh-backups');
    const ctx = testContext('doomfresh', undefined, {}, { stateDir });
    ctx.config.backup = { ...ctx.config.backup, dir };
    const keyFile = join(stateDir, 'restic', 'backup.repository.key');
    const refused = await rejection(repositoryPassword('x', undefined, { stateDir, create: false }));
    expect(refused.code).toBe('not_found');
    expect(refused.hint).toMatch(/run a backup first/);
    const listed = (await invokeTool(findTool('list_backups')!, ctx, {})) as {
      backups: unknown[];
      repository: string;
    };
    expect(listed.backups).toEqual([]);
    expect(listed.repository).toMatch(/has no key yet/);
    const verify = await rejection(
      invokeTool(findTool('verify_backup')!, ctx, { id: '20261101T000000Z-full' }),
    );
    expect(verify.code).toBe('not_found');
    expect(verify.message).toMatch(/local repository: .*has no key yet/);
    const dry = (await invokeTool(findTool('prune_backups')!, ctx, { dryRun: true })) as {
      repositories: unknown[];
    };
    expect(dry.repositories).toEqual([]);
    expect(existsSync(keyFile)).toBe(false);
    expect(existsSync(join(dir, 'restic'))).toBe(false);
  });
});

describe('memory', () => {
  it('streams 200 MiB through backupStream with the RSS growing by less than 64 MiB', {
    timeout: 300_000,
  }, async () => {
    const r = repo('memory');
    await r.ensureRepository();
    const before = process.memoryUsage.rss();
    let peak = before;
    const result = await r.backupStream(
      mixed(200 * MiB, 11, () => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }),
      { filename: 'volumes/big.tar', tags: ['component=volumes'] },
    );
    peak = Math.max(peak, process.memoryUsage.rss());
    expect(result.totalBytes).toBe(200 * MiB);
    expect(peak - before).toBeLessThan(64 * MiB);
  });
});
