import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** A running OpenSSH SFTP server for restic's `sftp:` backend (see startSftpServer). */
export interface SftpServer {
  port: number;
  /** The server's directory: repositories live under `<dir>/repos`. */
  dir: string;
  /** `sftp:<user>@127.0.0.1:<dir>/repos/<name>`: a repository URL on this server. */
  url(name: string): string;
  /**
   * The extended option restic needs: `sftp.command=ssh -p <port> -i <key> -o … <user>@127.0.0.1 -s sftp`
   * (restic splits it into an argument list itself; no shell).
   */
  option: string;
  /** sshd's log (stderr), for a failing test's message. */
  log(): string;
  /** Stops sshd (SIGTERM, waits for it) and removes the directory with everything in it. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function sshdBinary(): string {
  for (const p of ['/usr/sbin/sshd', '/usr/bin/sshd', '/usr/local/sbin/sshd']) if (existsSync(p)) return p;
  throw new Error('sshd not found: install Debian openssh-server (bash scripts/ensure-backup-tools.sh)');
}

/**
 * Starts OpenSSH's sshd on 127.0.0.1 on a free port, as the current user, with its own temp host
 * key and sshd_config: no PAM, no passwords, only this server's own client key (authorized with
 * `restrict`), `Subsystem sftp internal-sftp`, root allowed with that key only. The system's
 * /etc/ssh config and keys are not used. As root it creates /run/sshd (sshd's privilege separation
 * directory) when missing. Resolves once sshd logs that it listens; a port taken between choosing
 * and binding is retried with another.
 */
export async function startSftpServer(): Promise<SftpServer> {
  const sshd = sshdBinary();
  const dir = await mkdtemp(join(tmpdir(), 'doom-sftp-'));
  if (/[\s'"\\]/.test(dir))
    throw new Error(`temp dir ${dir} has characters restic's sftp.command split would mangle`);
  const user = userInfo().username;
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'doom-ops test host', '-f', hostKey]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'doom-ops test client', '-f', clientKey]);
  const pub = (await readFile(`${clientKey}.pub`, 'utf8')).trim();
  await writeFile(join(dir, 'authorized_keys'), `restrict ${pub}\n`, { mode: 0o600 });
  await mkdir(join(dir, 'repos'));
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) await mkdir('/run/sshd', { mode: 0o755 });

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'AuthorizedPrincipalsFile none',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'UsePAM no',
      // The key files live in a temp dir whose parents sshd's strict mode checks would refuse.
      'StrictModes no',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'Subsystem sftp internal-sftp',
      'LogLevel INFO',
      '',
    ].join('\n');
    const configFile = join(dir, 'sshd_config');
    await writeFile(configFile, config, { mode: 0o600 });
    const child = spawn(sshd, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (c: Buffer) => {
      log = (log + c.toString('utf8')).slice(-65_536);
    });
    const started = await new Promise<'listening' | 'exited'>((resolve) => {
      const onData = () => {
        if (/Server listening on 127\.0\.0\.1 port/.test(log)) resolve('listening');
      };
      child.stderr!.on('data', onData);
      child.once('exit', () => resolve('exited'));
      child.once('error', () => resolve('exited'));
    });
    if (started === 'exited') {
      if (/Address already in use/.test(log) && attempt < 5) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start: ${log.trim()}`);
    }
    const sshCommand = [
      'ssh',
      '-F',
      '/dev/null',
      '-p',
      String(port),
      '-i',
      clientKey,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      `${user}@127.0.0.1`,
      '-s',
      'sftp',
    ].join(' ');
    return {
      port,
      dir,
      url: (name) => `sftp:${user}@127.0.0.1:${join(dir, 'repos', name)}`,
      option: `sftp.command=${sshCommand}`,
      log: () => log,
      stop: () => stopChild(child, dir),
    };
  }
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
}
