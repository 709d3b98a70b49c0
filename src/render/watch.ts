import type { z } from 'zod';
import type { scheduleStatus } from '../tools/admin/schedule-status.js';
import type { recentIncidents } from '../tools/health/recent-incidents.js';
import { table } from './table.js';

export function renderSchedule(o: z.output<typeof scheduleStatus.output>): string {
  if (o.jobs.length === 0) return 'no scheduled jobs (schedule.jobs in config)';
  const rows = o.jobs.map((j) => [
    j.name,
    j.cron,
    j.enabled ? (j.next ?? '-') : 'disabled',
    j.last ? j.last.slot : 'never',
    j.last ? `${j.last.result}${j.last.reason ? `: ${j.last.reason}` : ''}` : '-',
    j.steps.join(' > '),
  ]);
  const notes = o.jobs
    .filter((j) => j.approvedBy)
    .map((j) => `${j.name}: destructive steps approved in config by ${j.approvedBy}`);
  return [
    `scheduled jobs (cron in ${o.timezone}; they run inside \`doom-ops serve\`)`,
    table(['JOB', 'CRON', 'NEXT', 'LAST SLOT', 'LAST RESULT', 'STEPS'], rows, 70),
    ...notes,
  ].join('\n');
}

export function renderIncidents(o: z.output<typeof recentIncidents.output>): string {
  if (o.incidents.length === 0) return `no incidents recorded for ${o.project}`;
  return [
    `incidents of ${o.project}, newest first`,
    ...o.incidents.map((i) =>
      [
        `${i.status === 'open' ? 'OPEN' : 'resolved'}${i.muted ? ' (muted)' : ''}  ${i.title}  [${i.id}]`,
        `  opened ${i.openedAt}${i.resolvedAt ? `, resolved ${i.resolvedAt}` : `, updated ${i.updatedAt}`}`,
        ...i.verdict.split('\n').map((l) => `  ${l}`),
        ...i.evidence.slice(0, 6).map((l) => `    ${l}`),
      ].join('\n'),
    ),
  ].join('\n\n');
}
