import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeFailure, probeProgram } from '../../src/knowledge/health-probe.js';
import { startFailure } from '../../src/knowledge/start-failure.js';
import { logsUnavailableReason } from '../../src/tools/lib/container-logs.js';

const created = (error: string, exitCode = 128) => ({
  restartCount: 0,
  state: { status: 'created', running: false, exitCode, error, startedAt: null },
});

describe('startFailure: containers that never ran', () => {
  it('reads the runtime error into what failed and the fix (127, 126, ports, mounts, networks, GPUs)', () => {
    expect(
      startFailure(
        created(
          'OCI runtime create failed: runc create failed: unable to start container process: exec: "missing-tool": executable file not found in $PATH: unknown',
          127,
        ),
      ),
    ).toMatchObject({
      kind: 'command_not_found',
      what: expect.stringMatching(/"missing-tool" is not in the image/),
    });
    expect(
      startFailure(
        created('OCI runtime create failed: exec: "/entrypoint.sh": permission denied: unknown', 126),
      ),
    ).toMatchObject({ kind: 'not_executable', fix: expect.stringMatching(/chmod \+x \/entrypoint\.sh/) });
    expect(
      startFailure(
        created(
          'driver failed programming external connectivity on endpoint p_web2_1: Bind for 127.0.0.1:8080 failed: port is already allocated',
        ),
      ),
    ).toMatchObject({ kind: 'port_in_use', fix: expect.stringMatching(/port-conflict/) });
    expect(
      startFailure(
        created("error while creating mount source path '/srv/x': mkdir /srv/x: read-only file system"),
      ),
    ).toMatchObject({ kind: 'mount' });
    expect(startFailure(created('network p_backend not found'))).toMatchObject({ kind: 'network' });
    expect(
      startFailure(created('could not select device driver "nvidia" with capabilities: [[gpu]]')),
    ).toMatchObject({
      kind: 'gpu',
    });
  });

  it("the runtime's words decide before the exit code: a mount error with 127 is a mount error", () => {
    expect(
      startFailure(
        created(
          'OCI runtime create failed: runc create failed: error mounting "/srv/afile" to rootfs at "/etc": not a directory: Are you trying to mount a directory onto a file (or vice-versa)?',
          127,
        ),
      ),
    ).toMatchObject({ kind: 'mount' });
    expect(
      startFailure(
        created(
          'cannot join network of a non running container: 3f4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899',
        ),
        (id) => (id.startsWith('3f4a5b6c7d8e') ? 'p_base_1' : undefined),
      ),
    ).toMatchObject({ kind: 'network', what: expect.stringMatching(/shares the network of p_base_1/) });
    expect(
      startFailure(created('failed to initialize logging driver: journald is not enabled on this host')),
    ).toMatchObject({ kind: 'logging' });
  });

  it('created with no error was never started (Compose v2 leaves dependents so); a running or normally exited one is no start failure', () => {
    expect(startFailure(created('', 0))).toMatchObject({ kind: 'not_started', error: null });
    expect(
      startFailure({
        restartCount: 0,
        state: {
          status: 'running',
          running: true,
          exitCode: 0,
          error: '',
          startedAt: '2026-11-28T10:00:00Z',
        },
      }),
    ).toBeNull();
    expect(
      startFailure({
        restartCount: 2,
        state: {
          status: 'exited',
          running: false,
          exitCode: 1,
          error: '',
          startedAt: '2026-11-28T10:00:00Z',
        },
      }),
    ).toBeNull();
  });

  it('an exited container that ran before and could not start again says so', () => {
    expect(
      startFailure({
        restartCount: 3,
        state: {
          status: 'exited',
          running: false,
          exitCode: 128,
          error: 'Bind for 0.0.0.0:80 failed: port is already allocated',
          startedAt: '2026-11-28T10:00:00Z',
        },
      }),
    ).toMatchObject({ kind: 'port_in_use', ranBefore: true });
  });
});

describe('probeFailure: what a failing health probe says about itself', () => {
  it('a missing command is a broken probe; a refused connection is "nothing listens yet"; the rest fails', () => {
    expect(probeFailure({ exitCode: 127, output: '/bin/sh: curl: not found' })).toBe('broken');
    expect(
      probeFailure({
        exitCode: -1,
        output:
          'OCI runtime exec failed: exec failed: exec: "grpc_health_probe": executable file not found in $PATH',
      }),
    ).toBe('broken');
    expect(
      probeFailure({
        exitCode: 1,
        output: "wget: can't connect to remote host (127.0.0.1): Connection refused",
      }),
    ).toBe('refused');
    expect(probeFailure({ exitCode: 1, output: 'health probe failed: disk full' })).toBe('failing');
    expect(probeFailure({ exitCode: 0, output: 'ok' })).toBeNull();
  });

  it('a probe that ran before, or that only reads a missing file, is not broken', () => {
    const readsFile = { exitCode: 1, output: "cat: can't open '/tmp/ready': No such file or directory" };
    expect(probeFailure(readsFile)).toBe('failing');
    expect(probeFailure({ exitCode: 127, output: '/bin/sh: curl: not found' }, [{ exitCode: 0 }])).toBe(
      'failing',
    );
  });

  it('names the program that is missing', () => {
    expect(probeProgram(['CMD-SHELL', 'curl -f http://x'], '/bin/sh: curl: not found')).toBe('curl');
    expect(
      probeProgram(
        ['CMD', 'grpc_health_probe', '-addr=:50051'],
        'exec: "grpc_health_probe": executable file not found',
      ),
    ).toBe('grpc_health_probe');
  });
});

describe('logs that cannot be read back', () => {
  const cfg = (driver: string, options: Record<string, string> = {}) => ({ logConfig: { driver, options } });
  it('driver none and remote drivers with the engine cache disabled are unavailable, with the reason', () => {
    expect(logsUnavailableReason(cfg('none'))).toMatch(/^logging driver none/);
    expect(logsUnavailableReason(cfg('gelf', { 'cache-disabled': 'true' }))).toMatch(
      /logging driver gelf with cache-disabled/,
    );
    // Docker 20.10+ reads other drivers back through its local cache (dual logging).
    expect(logsUnavailableReason(cfg('syslog'))).toBeNull();
    expect(logsUnavailableReason(cfg('json-file'))).toBeNull();
    expect(logsUnavailableReason(cfg('local'))).toBeNull();
  });

  it('every log read goes through the one function that follows Tty and the logging driver', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && /\.logLines\(/.test(readFileSync(p, 'utf8'))) offenders.push(p);
      }
    };
    walk('src');
    expect(offenders).toEqual(['src/tools/lib/container-logs.ts']);
  });
});
