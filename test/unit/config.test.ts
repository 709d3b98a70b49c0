import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'doomcfg-')), 'c.yaml');
  writeFileSync(path, text);
  return path;
}

describe('config', () => {
  it('defaults to the handbook stack', () => {
    const c = loadConfig({ env: {} });
    expect(c.project).toBe('clau-doom');
    expect(Object.keys(c.services)).toEqual([
      'nats',
      'opensearch',
      'mongodb',
      'ollama',
      'orchestrator',
      'agent',
      'dashboard',
      'vizdoom',
    ]);
    expect(c.services.opensearch?.startPeriod).toBe(60_000);
    expect(c.docker.timeout).toBe(10_000);
  });

  it('project: --project beats COMPOSE_PROJECT_NAME beats the file', () => {
    const path = file('project: fromfile\n');
    expect(loadConfig({ env: { DOOM_OPS_CONFIG: path } }).project).toBe('fromfile');
    expect(loadConfig({ env: { DOOM_OPS_CONFIG: path, COMPOSE_PROJECT_NAME: 'fromenv' } }).project).toBe(
      'fromenv',
    );
    expect(loadConfig({ env: { COMPOSE_PROJECT_NAME: 'fromenv' }, project: 'fromflag' }).project).toBe(
      'fromflag',
    );
  });

  it('reports every invalid key in one message', () => {
    const path = file(
      'projekt: x\ndocker: { timeout: soon }\nservices:\n  nats: { critical: maybe }\nlogs: { maxTail: -1 }\n',
    );
    let message = '';
    try {
      loadConfig({ env: { DOOM_OPS_CONFIG: path } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/projekt/);
    expect(message).toMatch(/docker\.timeout/);
    expect(message).toMatch(/services\.nats\.critical/);
    expect(message).toMatch(/logs\.maxTail/);
  });

  it('env overrides: timeout and read-only', () => {
    const c = loadConfig({ env: { DOOM_OPS_DOCKER_TIMEOUT: '2s', DOOM_OPS_READ_ONLY: '1' } });
    expect(c.docker.timeout).toBe(2000);
    expect(c.readOnly).toBe(true);
    expect(() => loadConfig({ env: { DOOM_OPS_READ_ONLY: 'perhaps' } })).toThrow(/DOOM_OPS_READ_ONLY/);
    expect(() => loadConfig({ env: {}, project: 'bad;name' })).toThrow(/project/);
  });

  it('swarm.nodes: only engine endpoints doom-ops can reach are accepted, each checked when loaded', () => {
    const ok = loadConfig({
      env: {
        DOOM_OPS_CONFIG: file(
          'swarm:\n  nodes:\n    gpu-1: unix:///run/gpu1.sock\n    gpu-2: tcp://10.0.0.2:2375\n    gpu-3: ssh://ops@gpu-3\n',
        ),
      },
    });
    expect(Object.keys(ok.swarm.nodes)).toEqual(['gpu-1', 'gpu-2', 'gpu-3']);
    for (const bad of [
      'tcp://gpu-2:99999',
      'unix://var/run/docker.sock',
      'http//x',
      'npipe:////./pipe/docker',
    ])
      expect(() =>
        loadConfig({ env: { DOOM_OPS_CONFIG: file(`swarm:\n  nodes:\n    n: "${bad}"\n`) } }),
      ).toThrow(/swarm\.nodes\.n.*must be unix:\/\/\/absolute\/path/s);
  });
});
