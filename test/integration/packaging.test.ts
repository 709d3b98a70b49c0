import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiRecorder, startApiRecorder } from '../helpers/api-recorder.js';
import { cli, cliOk } from '../helpers/cli.js';
import { COMPOSE_FILE, containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

// Packaging doom-ops itself: the image built here from a locally made Node base (no registry), the
// Compose entry that adds it to a stack, and the Engine API endpoint list for a socket proxy.
// A tag of this run's own (the engine is shared: another run's doom-ops:test is not ours to replace).
const IMAGE = `doom-ops:${process.env.DOOM_OPS_BUILD_ID ?? 'test'}`;
const OVERRIDE = resolve('deploy/docker-compose.doom-ops.yml');
const ENDPOINTS = resolve('deploy/docker-api-endpoints.txt');
const socketGid = String(statSync('/var/run/docker.sock').gid);

let stack: TestStack;
let workDir: string;

const overrideEnv = (port: number) => ({
  ...process.env,
  ...stack.env,
  // As a user's .env would: the service's own project is the one it operates.
  COMPOSE_PROJECT_NAME: stack.project,
  DOOM_OPS_IMAGE: IMAGE,
  DOOM_OPS_MCP_TOKEN: 'packaging-test-token-0123456789',
  DOCKER_GID: socketGid,
  DOOM_OPS_CONFIG_FILE: resolve('deploy/doom-ops.yaml'),
  DOOM_OPS_PORT: String(port),
  DOOM_OPS_HEALTH_INTERVAL: '1s',
});
const withOverride = (args: string[], port = 7801) =>
  execa('docker-compose', ['-p', stack.project, '-f', COMPOSE_FILE, '-f', OVERRIDE, ...args], {
    env: overrideEnv(port),
    reject: false,
  });

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'doom-ops-pkg-'));
  await execa('bash', ['scripts/build-image.sh', IMAGE], { timeout: 600_000 });
  stack = await upStack({ env: { ORCHESTRATOR_MODE: 'normal' } });
  // The test stack has no ollama (not critical): "degraded" with every other service healthy.
  await waitFor(
    'test stack up',
    async () => (await hostHealth()).services.every((s) => s.ok || s.service === 'ollama'),
    120_000,
    1000,
  );
}, 900_000);

afterAll(async () => {
  if (stack) await withOverride(['down', '-v', '--remove-orphans', '-t', '1']);
  await stack?.down();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 120_000);

describe('the doom-ops image', () => {
  it('is multi-stage, runs as a non-root user and checks /healthz', async () => {
    const info = await docker.getImage(IMAGE).inspect();
    expect(info.Config.User).toBe('1000:1000');
    expect(info.Config.Healthcheck?.Test?.join(' ')).toContain('/healthz');
    expect(info.Config.Entrypoint).toEqual(['doom-ops']);
    // Only the runtime stage ships: no TypeScript sources, no compiler, no dev dependencies.
    const ls = await execa('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'ls /app; ls /app/node_modules/typescript /app/node_modules/vitest 2>&1; id -u',
    ]);
    expect(ls.stdout).toContain('dist');
    expect(ls.stdout).not.toMatch(/^src$/m);
    expect(ls.stdout).toMatch(/typescript: No such file/);
    expect(ls.stdout).toMatch(/vitest: No such file/);
    expect(ls.stdout.trim().split('\n').at(-1)).toBe('1000');
  });

  it("has restic on PATH, runnable by the image's user", async () => {
    const r = await execa('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'id -u; command -v restic; restic version',
    ]);
    const [uid, path, version] = r.stdout.trim().split('\n');
    expect(uid).toBe('1000');
    expect(path).toMatch(/^\/[^ ]*\/restic$/);
    expect(version).toMatch(/^restic 0\.\d+\.\d+ /);
    expect(r.stderr).toBe('');
  });

  it('writes and reads back a restic snapshot inside the image, as its user', async () => {
    // The backup path in miniature: a repository created, a stream backed up from stdin, dumped back.
    const r = await execa('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      '-e',
      'RESTIC_PASSWORD=packaging-test',
      '-e',
      'RESTIC_REPOSITORY=/tmp/repo',
      IMAGE,
      '-c',
      'restic init -q && echo doom-ops-restic-ok | restic backup -q --stdin --stdin-filename probe.txt && restic dump latest /probe.txt',
    ]);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('doom-ops-restic-ok');
  });

  it("labels every image the build made with this run's id, the build stage too, so the teardown removes them", async () => {
    const run = process.env.DOOM_OPS_BUILD_ID!;
    expect(run).toMatch(/^test-/);
    const info = await docker.getImage(IMAGE).inspect();
    expect(info.Config.Labels?.['doom-ops.build']).toBe(run);
    const labelled = await docker.listImages({ all: true, filters: { label: [`doom-ops.build=${run}`] } });
    const stages = await Promise.all(
      labelled.filter((i) => i.Id !== info.Id).map((i) => docker.getImage(i.Id).inspect()),
    );
    // The build stage (npm ci, tsc): untagged, left behind by the classic builder.
    expect(
      stages.some(
        (s) => s.Config.WorkingDir === '/build' && !(s.RepoTags ?? []).some((t) => t !== '<none>:<none>'),
      ),
    ).toBe(true);
  });

  it('answers `doom-ops health` about the test stack through the mounted socket', async () => {
    const r = await execa(
      'docker',
      [
        'run',
        '--rm',
        '--group-add',
        socketGid,
        '-v',
        '/var/run/docker.sock:/var/run/docker.sock',
        '-e',
        `COMPOSE_PROJECT_NAME=${stack.project}`,
        IMAGE,
        'health',
        '--json',
      ],
      { reject: false },
    );
    expect(r.stderr).toBe('');
    const health = JSON.parse(r.stdout) as Health;
    expect(health.project).toBe(stack.project);
    // The same answer as the host's CLI gives about the same stack.
    expect(statuses(health)).toEqual(statuses(await hostHealth()));
    expect(statuses(health)).toMatchObject({
      orchestrator: 'healthy',
      mongodb: 'healthy',
      ollama: 'missing',
    });
    expect(r.exitCode).toBe(1); // degraded: the test stack has no ollama
  });

  it('says what to do when the socket is not reachable for its user', async () => {
    // Without the socket's group the unprivileged user cannot connect: the error must say so.
    const r = await execa(
      'docker',
      ['run', '--rm', '-v', '/var/run/docker.sock:/var/run/docker.sock', IMAGE, 'health'],
      { reject: false },
    );
    if (socketGid === '0') return; // a root-group socket would be readable through gid 0 only
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/permission|EACCES/i);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('the Compose entry (deploy/docker-compose.doom-ops.yml)', () => {
  it('passes lint_compose with the in-stack config', async () => {
    const config = join(workDir, 'lint.yaml');
    await writeFile(
      config,
      `${await readFile('deploy/doom-ops.yaml', 'utf8')}\ncompose: { dir: ${resolve('deploy')}, files: [docker-compose.doom-ops.yml] }\n`,
    );
    const r = await cliOk(['lint', '--json'], { DOOM_OPS_CONFIG: config });
    expect(r.json<{ findings: unknown[] }>().findings).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it('joins the stack, becomes healthy on /healthz, and reports the stack it runs in', async () => {
    const port = await freePort();
    const up = await withOverride(['up', '-d', '--no-deps', 'doom-ops'], port);
    expect(up.stderr).not.toMatch(/ERROR/);
    const c = await waitFor(
      'doom-ops container healthy',
      async () => {
        const info = await containerOf(stack.project, 'doom-ops');
        if (info.State.Status === 'exited')
          throw new Error(`doom-ops exited: ${(await withOverride(['logs', 'doom-ops'])).stdout}`);
        return info.State.Health?.Status === 'healthy' ? info : undefined;
      },
      90_000,
      1000,
    );
    expect(c.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(c.HostConfig.Memory).toBe(512 * 1024 ** 2);
    expect(c.HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-file': '3', 'max-size': '10m' },
    });
    expect(c.HostConfig.ReadonlyRootfs).toBe(true);
    expect(c.HostConfig.CapDrop).toEqual(['ALL']);
    expect(c.Config.User).toBe('1000:1000');
    // /healthz answers on the loopback port Compose published.
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    // The bundled CLI inside the running service sees the whole stack, itself included.
    const inside = await execa('docker', ['exec', c.Id, 'doom-ops', 'health', '--json'], { reject: false });
    const health = JSON.parse(inside.stdout) as Health;
    expect(health.project).toBe(stack.project);
    expect(statuses(health)).toEqual(statuses(await hostHealth()));
  });
});

describe('the Engine API endpoints a socket proxy must allow', () => {
  let recorder: ApiRecorder;
  beforeAll(async () => {
    recorder = await startApiRecorder();
  });
  afterAll(async () => {
    await recorder?.close();
  });

  it('covers every call of the read, scale, restart, update, backup and restore paths', async () => {
    const config = join(workDir, 'api.yaml');
    await writeFile(config, `backup: { dir: ${join(workDir, 'backups')}, volumes: [nats-data] }\n`);
    const env = {
      DOCKER_HOST: recorder.dockerHost,
      DOOM_OPS_CONFIG: config,
      DOOM_OPS_STATE_DIR: join(workDir, 'state'),
    };
    const p = ['--project', stack.project];
    for (const args of [
      ['health', '--json'],
      ['stats', '--json'],
      ['logs', 'orchestrator', '--tail', '5', '--json'],
      ['why', 'orchestrator', '--json'],
      ['oom', '--json'],
      ['runbook', 'disk-usage', '--json'],
      ['scale-agents', '3', '--json'],
      ['scale-agents', '2', '--yes', '--json'],
      ['restart', 'vizdoom', '--yes', '--json'],
      ['update', 'dashboard', 'doom-ops-test/base:latest', '--yes', '--json'],
    ]) {
      const r = await cli([...args, ...p], env, 180_000);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).not.toBe(2);
    }
    const backup = await cliOk(['backup', 'volumes', '--json', ...p], env, 180_000);
    const id = backup.json<{ id: string }>().id;
    const restore = await cli(
      ['restore', 'volumes', id, '--target', 'nats-data', '--yes', '--json', ...p],
      env,
      180_000,
    );
    expect(restore.exitCode, restore.stderr).toBe(0);

    const allowed = await allowList();
    const seen = [...new Set(recorder.requests)].sort();
    expect(seen.length).toBeGreaterThan(10);
    const unlisted = seen.filter((r) => !allowed.some((a) => a.test(r)));
    expect(unlisted, 'add these to deploy/docker-api-endpoints.txt and the README').toEqual([]);
  }, 600_000);
});

interface Health {
  project: string;
  verdict: string;
  services: { service: string; ok: boolean; status: string }[];
}

async function hostHealth(): Promise<Health> {
  return (await cli(['health', '--json', '--project', stack.project])).json<Health>();
}

const statuses = (h: Health) => Object.fromEntries(h.services.map((s) => [s.service, s.status]));

/** deploy/docker-api-endpoints.txt: "METHOD /path" lines, {x} = one path segment, {x*} = one or more, # comments. */
async function allowList(): Promise<RegExp[]> {
  return (await readFile(ENDPOINTS, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => {
      const [method, path] = l.split(/\s+/);
      const pattern = path!
        .split(/(\{[^}]+\})/)
        .map((part) =>
          part.startsWith('{')
            ? part.endsWith('*}')
              ? '.+'
              : '[^/]+'
            : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return new RegExp(`^${method} ${pattern}$`);
    });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
