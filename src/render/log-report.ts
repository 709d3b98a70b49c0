import type { z } from 'zod';
import type { exportLogs } from '../tools/logs/export-logs.js';
import type { logReport } from '../tools/logs/log-report.js';

export function renderLogReport(o: z.output<typeof logReport.output>): string {
  const out = [`log report for ${o.project}, ${o.since} to ${o.until ?? 'now'}`];
  for (const s of o.services) {
    const lat = s.latency
      ? `latency: n=${s.latency.count} mean=${s.latency.mean} p50=${s.latency.p50} p95=${s.latency.p95} max=${s.latency.max}`
      : 'latency: no values';
    out.push(
      '',
      `${s.service}: ${s.lines} lines, ${s.errors} errors, ${s.warnings} warnings${s.scanLimitReached ? ' (window not fully covered: logs.scanLines reached)' : ''}`,
      ...(s.logsUnavailable ? [`  logs unavailable: ${s.logsUnavailable}`] : []),
      ...(s.coverage ? [`  not covered: ${s.coverage}`] : []),
      `  ${lat}`,
      ...s.topErrors.map(
        (m) =>
          `  ${String(m.count).padStart(5)}x ${m.level} ${m.message}  (${m.firstSeen ?? '?'} .. ${m.lastSeen ?? '?'})`,
      ),
      ...s.topWarnings.map((m) => `  ${String(m.count).padStart(5)}x ${m.level} ${m.message}`),
    );
  }
  return out.join('\n');
}

export function renderExportLogs(o: z.output<typeof exportLogs.output>): string {
  return [
    `logs exported to ${o.dir}`,
    ...o.files.map(
      (f) =>
        `  ${f.service.padEnd(14)} ${String(f.lines).padStart(7)} lines ${String(f.bytes).padStart(10)} bytes${f.truncated ? ' (cut at the size cap)' : ''}  ${f.file}${f.logsUnavailable ? `\n    logs unavailable: ${f.logsUnavailable}` : ''}`,
    ),
  ].join('\n');
}
