import type { z } from 'zod';
import type { diskUsage as diskUsageTool } from '../tools/checks/disk-usage.js';
import { formatBytes } from '../util/duration.js';
import type { Finding, Runbook } from './types.js';

type Disk = z.output<typeof diskUsageTool.output>;

export const diskUsage: Runbook = {
  id: 'disk-usage',
  title: 'Disk usage',
  description:
    'The disk is filling up: volume sizes and DuckDB play-log files against their thresholds, and volumes nothing monitors.',
  needsService: false,
  async run(call) {
    const d = (await call('disk_usage', {})) as Disk;
    const findings: Finding[] = [
      ...d.volumes
        .filter((v) => v.over)
        .map((v) => ({
          severity: 'critical' as const,
          title: `volume ${v.volume ?? v.name} is ${formatBytes(v.bytes)}, over ${formatBytes(v.threshold)}`,
          explanation: `used by ${v.usedBy.join(', ') || 'no container'}`,
          evidence: [
            `${v.name}: ${v.bytes} bytes (threshold ${v.threshold}), measured by ${v.measuredBy === 'archive' ? 'reading it through the archive API (system df does not size this volume)' : 'system df'}`,
          ],
        })),
      ...d.playLogs
        .filter((p) => p.over)
        .map((p) => ({
          severity: 'warning' as const,
          title: `play log ${p.file} in ${p.container} is ${formatBytes(p.bytes)}, over ${formatBytes(p.threshold)}`,
          explanation: 'DuckDB play logs grow with every episode',
          evidence: [`${p.container}:${p.file} ${p.bytes} bytes`],
        })),
    ];
    const unmonitored = d.volumes.filter((v) => v.threshold === null && v.volume !== null);
    if (unmonitored.length)
      findings.push({
        severity: 'info',
        title: `${unmonitored.length} volume(s) have no threshold`,
        explanation: 'nothing warns before they fill the disk',
        evidence: unmonitored.map((v) => `${v.volume}: ${formatBytes(v.bytes)}`),
      });
    if (d.notMeasured.length)
      findings.push({
        severity: 'info',
        title: 'not everything could be measured',
        explanation: 'these volumes or play logs have thresholds but could not be sized',
        evidence: d.notMeasured,
      });
    if (findings.length === 0)
      findings.push({
        severity: 'info',
        title: 'disk usage within thresholds',
        explanation: d.summary,
        evidence: [],
      });
    const actions = [
      ...(d.over
        ? ['backup full, then archive or prune old data (old play logs, old OpenSearch indices)']
        : []),
      ...unmonitored.map((v) => `add disk.volumes.${v.volume} with a threshold to the doom-ops config`),
    ];
    return [{ tool: 'disk_usage', findings, actions }];
  },
};
