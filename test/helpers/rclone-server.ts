import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running `rclone serve webdav` for restic's `rclone:` backend (see startRcloneWebdav). */
export interface RcloneWebdav {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** The directory served (what the WebDAV server stores): `<dir>/served`. */
  dir: string;
  /** `rclone:<remote>:<name>`: a repository URL on this server. */
  url(name: string): string;
  /**
   * The environment restic's rclone backend needs (the rclone that restic starts reads it):
   * RCLONE_CONFIG_<REMOTE>_TYPE=webdav, _URL, _VENDOR=other, and RCLONE_CONFIG pointing at an empty
   * config file (so rclone does not look for ~/.config/rclone/rclone.conf).
   */
  env: Record<string, string>;
  /** rclone's log (stderr), for a failing test's message. */
  log(): string;
  /** Stops rclone (SIGTERM, waits for it) and removes the directory. */
  stop(): Promise<void>;
}

/**
 * Starts `rclone serve webdav` on 127.0.0.1 on a free port (rclone binds port 0 and logs the one it
 * got) over a new temp dir, without authentication. Resolves once rclone logs that it serves.
 */
export async function startRcloneWebdav(): Promise<RcloneWebdav> {
  const dir = await mkdtemp(join(tmpdir(), 'doom-webdav-'));
  const served = join(dir, 'served');
  await mkdir(served);
  const configFile = join(dir, 'rclone.conf');
  await writeFile(configFile, '');
  const child = spawn(
    'rclone',
    ['serve', 'webdav', '--config', configFile, '--addr', '127.0.0.1:0', served],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    log = (log + c.toString('utf8')).slice(-65_536);
  });
  const endpoint = await new Promise<string | undefined>((resolve) => {
    child.stderr!.on('data', () => {
      const m = /WebDav Server started on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => resolve(undefined));
    child.once('error', () => resolve(undefined));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (!endpoint) {
    await stop();
    throw new Error(`rclone serve webdav did not start: ${log.trim()}`);
  }
  const remote = `doomtest${randomBytes(3).toString('hex')}`;
  const prefix = `RCLONE_CONFIG_${remote.toUpperCase()}`;
  return {
    endpoint,
    dir: served,
    url: (name) => `rclone:${remote}:${name}`,
    env: {
      [`${prefix}_TYPE`]: 'webdav',
      [`${prefix}_URL`]: endpoint,
      [`${prefix}_VENDOR`]: 'other',
      RCLONE_CONFIG: configFile,
    },
    log: () => log,
    stop,
  };
}
