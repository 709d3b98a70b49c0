import type { z } from 'zod';
import type { auditLog } from '../tools/admin/audit-log.js';
import type { ScaleOutput } from '../tools/lib/scale.js';
import type { restartService } from '../tools/lifecycle/restart-service.js';
import type { updateService } from '../tools/lifecycle/update-service.js';
import { table } from './table.js';

export function renderScale(s: ScaleOutput): string {
  const out = [`${s.service}: ${s.before} -> ${s.after} replicas (project ${s.project})`];
  if (s.created.length) out.push(`created: ${s.created.join(', ')}${s.image ? ` (on ${s.image})` : ''}`);
  for (const d of s.drained)
    out.push(`drained ${d.container}: ${d.ok ? 'ok' : 'FAILED'} (${d.detail}, ${d.seconds}s)`);
  if (s.removed.length) out.push(`removed: ${s.removed.join(', ')}`);
  out.push(
    '',
    table(
      ['REPLICA', 'NUMBER', 'STATE'],
      s.replicas.map((r) => [r.name, r.number, r.state]),
    ),
  );
  return out.join('\n');
}

export function renderRestart(r: z.output<typeof restartService.output>): string {
  return [
    `${r.service}: restarted ${r.restarted.length} replica(s); ${r.healthy ? 'all healthy' : 'NOT all healthy'}`,
    table(
      ['REPLICA', 'STATE', 'HEALTH', 'TOOK'],
      r.restarted.map((x) => [x.name, x.state, x.health, `${(x.restartedInMs / 1000).toFixed(1)}s`]),
    ),
  ].join('\n');
}

export function renderAudit(a: z.output<typeof auditLog.output>): string {
  const damaged = a.damaged
    ? `\n-- ${a.damaged} damaged line(s) of the audit log could not be read and were skipped`
    : '';
  if (!a.entries.length) return `no audit entries${damaged}`;
  return (
    table(
      ['TIME', 'EVENT', 'PRINCIPAL', 'TOOL', 'APPROVER', 'OUTCOME'],
      a.entries.map((e) => [
        e.time,
        e.event,
        e.principal,
        e.tool,
        e.approver ? `${e.approver}${e.via ? ` via ${e.via}` : ''}` : e.approvalId,
        e.outcome,
      ]),
      80,
    ) + damaged
  );
}

export function renderUpdate(o: z.output<typeof updateService.output>): string {
  return [
    o.summary,
    ...o.replicas.map(
      (r) => `  ${r.replaced}: ${r.result} (${r.path}) -> ${r.container} on ${r.image}: ${r.detail}`,
    ),
  ].join('\n');
}
