import { describe, expect, it } from 'vitest';
import { computeMetrics, cpuPercent, memoryUsed } from '../../src/adapters/docker/stats-math.js';

describe('stats math (as docker stats computes it)', () => {
  it('CPU % = container delta / system delta * online CPUs * 100', () => {
    const prev = {
      cpu_usage: { total_usage: 1_000_000_000 },
      system_cpu_usage: 100_000_000_000,
      online_cpus: 2,
    };
    const cur = {
      cpu_usage: { total_usage: 1_500_000_000 },
      system_cpu_usage: 102_000_000_000,
      online_cpus: 2,
    };
    expect(cpuPercent(prev, cur)).toBe(50);
  });

  it('no CPU % without a previous system sample (one-shot)', () => {
    expect(
      cpuPercent({ cpu_usage: { total_usage: 0 } }, { cpu_usage: { total_usage: 5 }, system_cpu_usage: 10 }),
    ).toBeNull();
  });

  it('memory excludes inactive page cache (cgroup v1 and v2 keys)', () => {
    expect(memoryUsed({ usage: 100, stats: { total_inactive_file: 30 } })).toBe(70);
    expect(memoryUsed({ usage: 100, stats: { inactive_file: 40 } })).toBe(60);
    expect(memoryUsed({ usage: 100 })).toBe(100);
  });

  it('sums networks and block IO, computes memory %', () => {
    const m = computeMetrics({
      memory_stats: { usage: 50, limit: 200, stats: {} },
      networks: { eth0: { rx_bytes: 10, tx_bytes: 1 }, eth1: { rx_bytes: 5, tx_bytes: 2 } },
      blkio_stats: {
        io_service_bytes_recursive: [
          { op: 'Read', value: 7 },
          { op: 'write', value: 3 },
          { op: 'Total', value: 10 },
        ],
      },
      pids_stats: { current: 4 },
    });
    expect(m).toMatchObject({
      memoryPercent: 25,
      netRxBytes: 15,
      netTxBytes: 3,
      blockReadBytes: 7,
      blockWriteBytes: 3,
      pids: 4,
      cpuPercent: null,
    });
  });
});
