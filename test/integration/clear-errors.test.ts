import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli } from '../helpers/cli.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

// Issue 17.7: faults an operator meets (a name taken, a full disk, a port in use, a YAML file
// Compose rejects, a bug) end in a clear error, what failed, why and what to do, never an
// internal error with node's stack trace on the terminal.

const work = mkdtempSync(join(tmpdir(), 'doom-clear-'));
/** No stack frame ("    at fn (file:1:2)") ever reaches the terminal. */
const STACK_FRAME = /^\s+at .+[:(]/m;

let stack: TestStack;
const exportDir = join(work, 'exports');
const stateDir = join(work, 'state');
const configFile = join(work, 'config.yaml');
let env: Record<string, string>;

async function sh(service: string, script: string): Promise<void> {
  const c = await containerOf(stack.project, service);
  await execa('docker', ['exec', c.Id, 'sh', '-c', script]);
}

beforeAll(async () => {
  stack = await upStack({ services: ['nats', 'mongodb'] });
  await waitFor('nats running', async () => (await containerOf(stack.project, 'nats')).State.Running);
  await waitFor('mongodb running', async () => (await containerOf(stack.project, 'mongodb')).State.Running);
  writeFileSync(configFile, `logs: { exportDir: ${exportDir} }\n`);
  env = { DOOM_OPS_CONFIG: configFile, DOOM_OPS_STATE_DIR: stateDir };
});

afterAll(async () => {
  await stack?.down();
});

describe('export-logs twice in one second', () => {
  /** The export file name for a time: <service>_<YYYYMMDD_HHMMSS>.log (UTC), as the tool names it. */
  const nameAt = (ms: number) =>
    `nats_${new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_')}.log`;

  it('never collides: a taken name gets _2, _3, and nothing existing is touched', async () => {
    // Deterministic "same second": the names of the next two minutes already exist, as after an
    // export a moment ago (an export's name has one-second resolution).
    mkdirSync(exportDir, { recursive: true });
    const now = Date.now();
    for (let s = -2; s < 120; s++) writeFileSync(join(exportDir, nameAt(now + s * 1000)), '');
    const first = await cli(['export-logs', 'nats', '--project', stack.project, '--json'], env);
    const second = await cli(['export-logs', 'nats', '--project', stack.project, '--json'], env);
    for (const r of [first, second]) {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/internal error|EEXIST/);
    }
    const files = [first, second].map((r) => r.json<{ files: Array<{ file: string }> }>().files[0]!.file);
    expect(files[0]).toMatch(/nats_\d{8}_\d{6}_2\.log$/);
    expect(files[1]).toMatch(/nats_\d{8}_\d{6}_[23]\.log$/);
    expect(files[1]).not.toBe(files[0]);
    for (const f of files) expect(readFileSync(f, 'utf8')).toMatch(/nats/);
    // The files that were there keep their (empty) content.
    const untouched = readdirSync(exportDir).filter((f) => /^nats_\d{8}_\d{6}\.log$/.test(f));
    expect(untouched).toHaveLength(122);
    for (const f of untouched) expect(statSync(join(exportDir, f)).size).toBe(0);
  });
});

describe('a full disk during a backup (a 1 MiB tmpfs as backup.dir)', () => {
  const full = join(work, 'full-disk');
  let mounted = false;
  let backupEnv: Record<string, string>;

  beforeAll(async () => {
    mkdirSync(full, { recursive: true });
    // Needs root (as the engine does); a failing mount fails these tests rather than skipping them.
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    mounted = true;
    // 3 MB of random bytes do not compress: neither archive fits in 1 MiB.
    await sh('nats', 'mkdir -p /data && head -c 3000000 /dev/urandom > /data/big.dat');
    await sh('mongodb', 'mkdir -p /data/db && head -c 3000000 /dev/urandom > /data/db/blob.bin');
    const config = join(work, 'backup-config.yaml');
    writeFileSync(config, `backup: { dir: ${full}, volumes: [nats-data] }\n`);
    backupEnv = { DOOM_OPS_CONFIG: config, DOOM_OPS_STATE_DIR: stateDir };
  });

  afterAll(async () => {
    if (mounted) await execa('umount', [full], { reject: false });
  });

  it.each([
    // The issue's example: a volume archive streamed from the Engine archive API.
    ['volumes'],
    // Another writer of the kind: mongodump's output streamed from an exec.
    ['mongodb'],
  ])('backup %s names the directory and the free space; nothing partial is left', async (component) => {
    const r = await cli(['backup', component, '--project', stack.project], backupEnv, 120_000);
    expect(r.exitCode).toBe(2);
    // The restic repository under backup.dir is what fills up.
    expect(r.stderr).toContain(`no space left in ${join(full, 'restic')}`);
    expect(r.stderr).toMatch(/\(\d+(\.\d)?(B|KiB|MiB) free of 1\.0MiB now\)/);
    expect(r.stderr).toMatch(/next: free space there .*backup\.dir/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    // Nothing is listed as a backup to restore from.
    const listed = await cli(['backups', '--json', '--project', stack.project], backupEnv);
    expect(
      JSON.parse(listed.stdout).backups.filter((b: { state: string }) => b.state === 'complete'),
    ).toEqual([]);
  });
});

describe('a full state directory (the audit log on a 4 KiB tmpfs)', () => {
  const full = join(work, 'full-state');
  let mounted = false;

  beforeAll(async () => {
    mkdirSync(full, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', full]);
    mounted = true;
  });

  afterAll(async () => {
    if (mounted) await execa('umount', [full], { reject: false });
  });

  it('a write tool says the state dir is full (not an internal error); the cut entry is taken back, and later entries read whole', async () => {
    const audit = join(full, 'audit.jsonl');
    // 3664 bytes of empty lines: the next entry crosses the 4 KiB page and is written only in part.
    writeFileSync(audit, '\n'.repeat(3664));
    const fullEnv = { DOOM_OPS_STATE_DIR: full };
    const r = await cli(['scale', 'nats', '1', '--project', stack.project], fullEnv);
    expect(r.stderr).toContain(`no space left in ${full}`);
    expect(r.stderr).toMatch(/free of 4\.0KiB now/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.exitCode).not.toBe(0);
    // The partial entry was cut back off: every line left is whole (a shorter entry may have fit).
    for (const line of readFileSync(audit, 'utf8').split('\n').filter(Boolean))
      expect(() => JSON.parse(line)).not.toThrow();

    await execa('mount', ['-o', 'remount,size=64k', full]);
    const ok = await cli(['scale', 'nats', '1', '--project', stack.project], fullEnv);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const read = await cli(
      ['audit', '--tool', 'scale_service', '--project', stack.project, '--json'],
      fullEnv,
    );
    const out = read.json<{ entries: Array<{ event: string }>; damaged: number }>();
    expect(out.damaged).toBe(0);
    // Newest last: the second run's entries are all there, none glued onto a cut line.
    expect(out.entries.map((e) => e.event).slice(-3)).toEqual(['requested', 'started', 'succeeded']);
  });
});

describe('serve on an address it cannot bind', () => {
  let taken: Server;
  let port = 0;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => {
    taken?.close();
  });

  const serve = (args: string[], extra: Record<string, string> = {}) =>
    cli(
      ['serve', '--project', stack.project, '--no-record', '--no-watch', '--no-schedule', ...args],
      { ...env, ...extra },
      30_000,
    );

  it('a port in use: says so and how to pick another', async () => {
    const r = await serve(['--no-auth', '--port', String(port)]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`cannot serve on 127.0.0.1:${port}: port ${port} is already in use`);
    expect(r.stderr).toMatch(/--port N \(or http\.port in the config, DOOM_OPS_HTTP_PORT\)/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('an address that is not this host’s (TEST-NET-1): says so and how to pick another', async () => {
    const r = await serve(['--host', '192.0.2.1', '--port', '0'], { DOOM_OPS_MCP_TOKEN: 'x'.repeat(32) });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('cannot serve on 192.0.2.1:0: 192.0.2.1 is not an address of this host');
    expect(r.stderr).toMatch(/--host/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe('lint of files Compose rejects, and of symlinks out of compose.dir', () => {
  const dir = join(work, 'compose');
  let lintEnv: Record<string, string>;
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    mkdirSync(join(work, 'outside'), { recursive: true });
    writeFileSync(join(dir, 'broken.yml'), 'services:\n  web:\n    image: x\n   bad: [\n');
    writeFileSync(join(dir, 'services-list.yml'), 'services:\n  - web\n');
    writeFileSync(join(work, 'outside', 'other.yml'), 'services:\n  db:\n    image: mongo\n');
    symlinkSync(join(work, 'outside', 'other.yml'), join(dir, 'escape.yml'));
    const config = join(work, 'lint-config.yaml');
    writeFileSync(config, `compose: { dir: ${dir} }\n`);
    lintEnv = { DOOM_OPS_CONFIG: config, DOOM_OPS_STATE_DIR: stateDir };
  });

  it.each([
    ['a YAML syntax error', 'broken.yml', 'broken.yml:4:1: YAML syntax error'],
    [
      'services that are not a mapping',
      'services-list.yml',
      'services-list.yml:2:3: services must be a mapping',
    ],
  ])('%s: exit 2 naming file and line, not "no anti-patterns"', async (_what, file, where) => {
    const r = await cli(['lint', file], lintEnv);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`Compose would reject ${where}`);
    expect(r.stdout).not.toMatch(/no anti-patterns/);
  });

  it('a symlink leading out of compose.dir is refused', async () => {
    const r = await cli(['lint', 'escape.yml'], lintEnv);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/escape\.yml is a symbolic link .* leads out of compose\.dir .*: refused/);
    expect(r.stdout).toBe('');
  });
});

describe('internal errors: one line with a reference, the stack in <stateDir>/errors.log', () => {
  let engine: HttpServer;
  let dockerHost = '';
  beforeAll(async () => {
    // An "engine" that passes as Docker on GET /version but answers nonsense to everything else
    // (a broken proxy or emulator): the list is not a list, a bug doom-ops has no words for.
    engine = createHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        /\/version$/.test(req.url?.split('?')[0] ?? '')
          ? JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })
          : JSON.stringify({ surprise: true }),
      );
    });
    await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
    dockerHost = `tcp://127.0.0.1:${(engine.address() as { port: number }).port}`;
  });
  afterAll(() => {
    engine?.close();
  });

  /** The one stderr line, and the errors.log entry it points to (which holds the stack). */
  function expectOneLine(stderr: string, message: RegExp, dir: string): void {
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    const m = lines[0]!.match(/^doom-ops: internal error \(ref ([a-z0-9]+)\): (.*); details in (.*)$/);
    expect(m, stderr).not.toBeNull();
    const [, ref, text, log] = m!;
    expect(text).toMatch(message);
    expect(log).toBe(join(resolve(dir), 'errors.log'));
    const entry = readFileSync(log!, 'utf8');
    expect(entry).toContain(`ref ${ref}`);
    expect(entry).toMatch(STACK_FRAME);
  }

  it('an error a command reports (health against a malformed engine answer)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doom-state-'));
    const r = await cli(['health', '--project', stack.project], {
      DOCKER_HOST: dockerHost,
      DOOM_OPS_STATE_DIR: dir,
    });
    expect(r.exitCode).toBe(2);
    expectOneLine(r.stderr, /is not iterable/, dir);
  });

  it.each([
    ['throw', /thrown outside any promise/],
    ['reject', /rejection nobody handles/],
  ])('an error nobody catches (%s): the same one line, exit 2', async (fault, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'doom-state-'));
    const r = await cli(['schedule'], {
      NODE_OPTIONS: `--import=${resolve('test/helpers/inject-fault.mjs')}`,
      DOOM_OPS_TEST_FAULT: fault,
      DOOM_OPS_STATE_DIR: dir,
    });
    expect(r.exitCode).toBe(2);
    expectOneLine(r.stderr, message, dir);
  });

  it('a file-system fault no tool wrapped (the state dir is a file) is a clear error, not an internal one', async () => {
    const file = join(work, 'not-a-directory');
    writeFileSync(file, '');
    const r = await cli(['export-logs', 'nats', '--project', stack.project], {
      ...env,
      DOOM_OPS_STATE_DIR: file,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`doom-ops: cannot create the directory ${file}`);
    expect(r.stderr).toMatch(
      /next: that is doom-ops' state directory \(stateDir in the config, DOOM_OPS_STATE_DIR\)/,
    );
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe('the approval prompt left without an answer', () => {
  /** Runs the CLI on a pseudo-terminal (util-linux `script`), sends `key` once the prompt shows. */
  async function atPrompt(args: string[], key: string) {
    const command = ['node', CLI, ...args].map((a) => `'${a}'`).join(' ');
    const run = execa('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, ...env },
      reject: false,
      timeout: 60_000,
    });
    let output = '';
    let sent = false;
    run.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      if (!sent && output.includes('Type "yes" to approve')) {
        sent = true;
        run.stdin?.write(key);
      }
    });
    const r = await run;
    return { exitCode: r.exitCode, output, sent };
  }

  it.each([
    ['Ctrl-D', '\u0004'],
    ['Ctrl-C', '\u0003'],
  ])(
    '%s at "Type yes to approve": not approved, nothing done, exit 2 (not an internal error)',
    async (_key, key) => {
      const before = (await containerOf(stack.project, 'nats')).State.StartedAt;
      const r = await atPrompt(['restart', 'nats', '--project', stack.project], key);
      expect(r.sent, r.output).toBe(true);
      expect(r.exitCode, r.output).toBe(2);
      expect(r.output).toContain('doom-ops: no answer at the prompt (Ctrl-D or Ctrl-C); nothing was done');
      expect(r.output).not.toMatch(/internal error/);
      expect((await containerOf(stack.project, 'nats')).State.StartedAt).toBe(before);
    },
  );
});
