import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOk } from '../helpers/cli.js';
import { type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;

const seed = (script: string) =>
  execa('docker', ['exec', `${stack.project}_nats_1`, 'sh', '-c', `(${script}) > /proc/1/fd/1`]);

beforeAll(async () => {
  stack = await upStack({ services: ['nats'] });
  await waitFor(
    'nats running',
    async () =>
      (
        await execa('docker', ['inspect', '-f', '{{.State.Running}}', `${stack.project}_nats_1`], {
          reject: false,
        })
      ).stdout === 'true',
  );
  await seed(
    `for i in $(seq 1 100); do echo "{\\"level\\":\\"info\\",\\"msg\\":\\"episode complete\\",\\"seed_ms\\":$i}"; done`,
  );
  await seed(
    `for s in 30 5 12; do echo "{\\"level\\":\\"error\\",\\"msg\\":\\"db timeout after \${s}s\\"}"; done`,
  );
  await seed(
    `for p in 5432 5433; do echo "{\\"level\\":\\"error\\",\\"msg\\":\\"connection refused to 10.0.0.5:$p\\"}"; done`,
  );
  await seed(`echo '{"level":"warn","msg":"slow consumer"}'`);
}, 120_000);

afterAll(async () => {
  await stack?.down();
});

describe('log_report', () => {
  it('returns exact counts and percentiles for seeded lines', async () => {
    const r = (
      await cliOk([
        'log-report',
        'nats',
        '--since',
        '10m',
        '--latency-field',
        'seed_ms',
        '--json',
        '--project',
        stack.project,
      ])
    ).json<{
      services: Array<{
        service: string;
        errors: number;
        warnings: number;
        topErrors: Array<{ message: string; count: number; firstSeen: string; lastSeen: string }>;
        latency: { count: number; mean: number; p50: number; p95: number; max: number };
      }>;
    }>();
    const nats = r.services[0]!;
    expect(nats.service).toBe('nats');
    expect(nats.latency).toEqual({ count: 100, mean: 50.5, p50: 50, p95: 95, max: 100 });
    expect(nats.errors).toBe(5);
    expect(nats.warnings).toBe(1);
    expect(nats.topErrors.map((e) => [e.message, e.count])).toEqual([
      ['db timeout after <n>s', 3],
      ['connection refused to <ip>', 2],
    ]);
    expect(Date.parse(nats.topErrors[0]!.firstSeen)).toBeLessThanOrEqual(
      Date.parse(nats.topErrors[0]!.lastSeen),
    );
  });
});

describe('export_logs', () => {
  it('streams each service to a timestamped file with timestamps, and cuts at the size cap', async () => {
    const { mkdtempSync, readFileSync, writeFileSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'doomexport-'));
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(cfg, `logs:\n  exportDir: ${dir}/out\n`);
    const env = { DOOM_OPS_CONFIG: cfg, DOOM_OPS_STATE_DIR: join(dir, 'state') };
    const r = (
      await cliOk(['export-logs', 'nats', '--since', '10m', '--json', '--project', stack.project], env)
    ).json<{
      files: Array<{ service: string; file: string; lines: number; bytes: number; truncated: boolean }>;
    }>();
    const f = r.files[0]!;
    expect(f.file).toMatch(/out\/nats_\d{8}_\d{6}\.log$/);
    expect(f.truncated).toBe(false);
    const text = readFileSync(f.file, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(f.lines);
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\S+ \S+nats_1 stdout: /m);
    expect(text).toContain('db timeout after 30s');
    expect(statSync(f.file).size).toBe(f.bytes);

    writeFileSync(cfg, `logs:\n  exportDir: ${dir}/small\n  exportMaxBytes: 2000\n`);
    const cut = (
      await cliOk(['export-logs', 'nats', '--since', '10m', '--json', '--project', stack.project], env)
    ).json<{
      files: Array<{ file: string; bytes: number; truncated: boolean }>;
    }>().files[0]!;
    expect(cut.truncated).toBe(true);
    expect(cut.bytes).toBeLessThanOrEqual(2000);
    expect(readFileSync(cut.file, 'utf8')).toMatch(/# truncated at 2000 bytes/);
  });
});
