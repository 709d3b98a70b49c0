import type { z } from 'zod';
import type { serviceStats } from '../tools/diagnosis/service-stats.js';
import { formatBytes } from '../util/duration.js';
import { table } from './table.js';

type Stats = z.output<typeof serviceStats.output>;

export function renderStats(s: Stats): string {
  const pct = (n: number | null): string => (n === null ? '-' : `${n.toFixed(2)}%`);
  const rows = s.containers.map((c) => [
    c.name,
    pct(c.cpuPercent),
    // What it may use: its CPU limit and the cores it is pinned to.
    `${c.cpuLimit === null ? 'unlimited' : `${c.cpuLimit} CPU`}${c.cpuset ? ` on ${c.cpuset}` : ''}`,
    `${formatBytes(c.memory.usedBytes)} / ${c.memory.configuredLimitBytes ? formatBytes(c.memory.configuredLimitBytes) : 'unlimited'}`,
    pct(c.memory.percent),
    `${formatBytes(c.net.rxBytes)} / ${formatBytes(c.net.txBytes)}`,
    `${formatBytes(c.block.readBytes)} / ${formatBytes(c.block.writeBytes)}`,
    c.pids === null ? '-' : c.pidsLimit ? `${c.pids}/${c.pidsLimit}` : c.pids,
  ]);
  const near = s.containers.filter((c) => c.pids !== null && c.pidsLimit && c.pids >= c.pidsLimit * 0.9);
  const out = [
    table(
      [
        'CONTAINER',
        'CPU',
        'CPU LIMIT / CPUSET',
        'MEM USED / LIMIT',
        'MEM %',
        'NET RX / TX',
        'BLOCK R / W',
        'PIDS',
      ],
      rows,
    ),
  ];
  if (s.top.length)
    out.push(
      '',
      `top consumers: ${s.top.map((t) => `${t.name} (${formatBytes(t.memoryUsedBytes)}, ${pct(t.cpuPercent)} CPU)`).join(', ')}`,
    );
  for (const c of near)
    out.push(
      `${c.name}: PIDs ${c.pids}/${c.pidsLimit}, near pids_limit (health names zombies; init: true reaps them)`,
    );
  if (s.notRunning.length)
    out.push(`not running: ${s.notRunning.map((c) => `${c.name} (${c.state})`).join(', ')}`);
  if (s.unmeasured?.length)
    out.push(`not measured: ${s.unmeasured.map((c) => `${c.name} (${c.reason})`).join(', ')}`);
  return out.join('\n');
}
