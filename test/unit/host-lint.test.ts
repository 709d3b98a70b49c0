import { describe, expect, it } from 'vitest';
import { lintCompose } from '../../src/knowledge/compose-lint.js';
import { parseCpuset } from '../../src/knowledge/host-lint.js';

const OPTS = { managedServices: [], backedUpVolumes: [], monitoredVolumes: [] };
const svc = (name: string, extra: string) =>
  `  ${name}:\n    image: x\n    healthcheck: { test: ["CMD", "true"] }\n    deploy: { resources: { limits: { memory: 1G, cpus: "1" } } }\n${extra}`;
const ROTATED = '    logging: { driver: json-file, options: { max-size: "10m", max-file: "3" } }\n';
const rules = (files: Array<{ file: string; text: string }>, engineCpus?: number) =>
  lintCompose(files, { ...OPTS, ...(engineCpus === undefined ? {} : { engineCpus }) });
const only = (rule: string, files: Array<{ file: string; text: string }>, engineCpus?: number) =>
  rules(files, engineCpus).filter((f) => f.rule === rule);

describe('lint: log rotation (the handbook: json-file with max-size and max-file)', () => {
  it('no logging, or json-file without max-size, grows until the disk is full; the fix has the handbook values', () => {
    const f = only('no_log_rotation', [
      {
        file: 'docker-compose.yml',
        text: `services:\n${svc('orchestrator', '')}${svc('vizdoom', '    logging: { driver: json-file, options: { max-file: "3" } }\n')}${svc('nats', ROTATED)}${svc('dashboard', '    logging: { driver: local }\n')}${svc('shipper', '    logging: { driver: syslog }\n')}`,
      },
    ]);
    expect(f.map((x) => x.service)).toEqual(['orchestrator', 'vizdoom']);
    expect(f[0]!.message).toMatch(
      /sets no logging: the engine's default json-file driver keeps every log line/,
    );
    expect(f[0]!.fix).toContain('max-size: "10m", max-file: "3"');
    expect(f[1]!.message).toMatch(/json-file without max-size/);
    expect(f[1]!.fix).toContain('max-size: "50m", max-file: "5"');
  });

  it('rotation set in an overlay counts for the merged service', () => {
    expect(
      only('no_log_rotation', [
        { file: 'docker-compose.yml', text: `services:\n${svc('nats', '')}` },
        { file: 'docker-compose.prod.yml', text: `services:\n  nats:\n${ROTATED}` },
      ]),
    ).toEqual([]);
  });
});

describe('lint: CPU pinning', () => {
  it('parses cpusets', () => {
    expect(parseCpuset('0-2,4')).toEqual([0, 1, 2, 4]);
    expect(parseCpuset(' 3 ')).toEqual([3]);
    expect(parseCpuset('2-1')).toBeNull();
    expect(parseCpuset('a')).toBeNull();
  });

  it('two services pinned to a shared core; a cpuset beyond the engine’s CPUs', () => {
    const files = [
      {
        file: 'docker-compose.yml',
        text: `services:\n${svc('agent-primary', `${ROTATED}    cpuset: "0"\n`)}${svc('agent-secondary', `${ROTATED}    cpuset: "0-1"\n`)}${svc('vizdoom', `${ROTATED}    cpuset: "2,7"\n`)}`,
      },
    ];
    const shared = only('shared_pinned_core', files, 4);
    expect(shared).toHaveLength(1);
    expect(shared[0]!.message).toMatch(/agent-secondary and agent-primary are both pinned to CPU 0/);
    const beyond = only('cpuset_out_of_range', files, 4);
    expect(beyond.map((x) => [x.service, x.severity])).toEqual([['vizdoom', 'error']]);
    expect(beyond[0]!.message).toMatch(/pinned to CPU 7 .* the engine has 4 CPU\(s\) \(0-3\)/);
    // Unknown CPU count (no engine): not checked.
    expect(only('cpuset_out_of_range', files)).toEqual([]);
  });
});

describe('lint: GPUs', () => {
  const gpu = (id?: string) =>
    `    deploy:\n      resources:\n        limits: { memory: 1G, cpus: "1" }\n        reservations:\n          devices:\n            - driver: nvidia\n${id ? `              device_ids: ["${id}"]\n` : '              count: 1\n'}              capabilities: [gpu]\n`;
  it('two services pinned to the same GPU (device_ids or NVIDIA_VISIBLE_DEVICES); a GPU overlay service with no reservation', () => {
    const files = [
      {
        file: 'docker-compose.yml',
        text: `services:\n${svc('vizdoom', ROTATED)}${svc('ollama', ROTATED)}${svc('trainer', ROTATED)}`,
      },
      {
        file: 'docker-compose.gpu.yml',
        text: `services:\n  vizdoom:\n${gpu()}    environment:\n      - NVIDIA_VISIBLE_DEVICES=0\n  ollama:\n${gpu('0')}  trainer:\n    environment: { NVIDIA_VISIBLE_DEVICES: "1" }\n`,
      },
    ];
    const shared = only('shared_gpu', files);
    expect(shared.map((x) => x.message)).toEqual([
      'ollama and vizdoom are both pinned to GPU 0: they share its memory and compute',
    ]);
    const none = only('gpu_without_reservation', files);
    expect(none.map((x) => x.service)).toEqual(['trainer']);
    expect(none[0]!.message).toMatch(/NVIDIA_VISIBLE_DEVICES alone reserves nothing/);
    expect(none[0]!.fix).toMatch(/capabilities: \[gpu\]/);
  });

  it('GPU ids all/none are no pinning; gpus: all counts as a reservation', () => {
    const files = [
      {
        file: 'docker-compose.gpu.yml',
        text: `services:\n${svc('a', `${ROTATED}    gpus: all\n    environment: [NVIDIA_VISIBLE_DEVICES=all]\n`)}${svc('b', `${ROTATED}    gpus: all\n    environment: [NVIDIA_VISIBLE_DEVICES=all]\n`)}`,
      },
    ];
    expect(only('shared_gpu', files)).toEqual([]);
    expect(only('gpu_without_reservation', files)).toEqual([]);
  });
});
