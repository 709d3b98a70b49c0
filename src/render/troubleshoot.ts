import type { z } from 'zod';
import type { getApproval } from '../tools/admin/get-approval.js';
import type { listRunbooks } from '../tools/admin/run-runbook.js';
import type { checkConnectivity } from '../tools/checks/check-connectivity.js';
import type { checkDependencies } from '../tools/checks/check-dependencies.js';
import type { checkPorts } from '../tools/checks/check-ports.js';
import type { checkVolumePermissions } from '../tools/checks/check-volume-permissions.js';
import type { diskUsage } from '../tools/checks/disk-usage.js';
import { formatBytes } from '../util/duration.js';
import { table } from './table.js';

// Plain-text renderings of the troubleshooting checks, the runbook list, disk usage and approvals:
// what the CLI, MCP text content and Slack show instead of the structured output as JSON.

export function renderListRunbooks(o: z.output<typeof listRunbooks.output>): string {
  return [
    'runbooks (doom-ops runbook <id> [service]):',
    table(
      ['ID', 'SERVICE', 'FOR'],
      o.runbooks.map((r) => [r.id, r.needsService ? 'needed' : 'optional', r.description]),
      90,
    ),
  ].join('\n');
}

export function renderPorts(o: z.output<typeof checkPorts.output>): string {
  if (!o.ports.length) return 'no published ports asked for';
  const out = [
    `${o.ports.filter((p) => p.status === 'published').length} of ${o.ports.length} port binding(s) published, ${o.conflicts} conflict(s)`,
    table(
      ['CONTAINER', 'HOST', 'ASKED', 'CONTAINER PORT', 'STATUS'],
      o.ports.map((p) => [
        p.container,
        p.hostPort ? `${p.hostIp}:${p.hostPort}` : `${p.hostIp}:-`,
        p.requestedHostPort || 'ephemeral',
        p.containerPort,
        p.status,
      ]),
    ),
  ];
  for (const p of o.ports.filter((x) => x.status === 'conflict'))
    out.push(
      '',
      `${p.container}: ${p.hostIp}:${p.requestedHostPort || p.hostPort} is held by ${
        p.holders
          .map((h) =>
            h.kind === 'container' ? `container ${h.name}` : `process ${h.pid ?? '?'} "${h.name}"`,
          )
          .join(', ') || 'nothing now (freed since?)'
      }${p.suggestedHostPort ? `; free port to remap to: ${p.suggestedHostPort}` : ''}`,
      ...(p.engineError ? [`  engine: ${p.engineError}`] : []),
    );
  return out.join('\n');
}

export function renderVolumePermissions(o: z.output<typeof checkVolumePermissions.output>): string {
  const out = [
    `${o.service}: ${o.mounts.length} mount(s), ${o.problems} problem(s)`,
    table(
      ['CONTAINER', 'MOUNT', 'OWNER', 'MODE', 'RUNS AS', 'WRITABLE', 'WHY'],
      o.mounts.map((m) => [
        m.container,
        `${m.volume ?? m.source} -> ${m.destination}${m.rw ? '' : ' (ro)'}`,
        m.owner ? `${m.owner.uid}:${m.owner.gid}` : '?',
        m.owner?.mode ?? '?',
        m.user.name ?? m.user.spec ?? '?',
        m.writable === null ? '?' : m.writable ? 'yes' : 'NO',
        m.reason,
      ]),
      70,
    ),
  ];
  if (o.readOnlyRootfs.length) out.push(`read-only root filesystem: ${o.readOnlyRootfs.join(', ')}`);
  return out.join('\n');
}

export function renderConnectivity(o: z.output<typeof checkConnectivity.output>): string {
  return [
    `${o.from} -> ${o.to}${o.port ? `:${o.port}` : ''}: ${o.reachable ? 'reachable' : `NOT reachable (${o.failedStep ?? 'unknown step'})`}${o.container ? ` (tested from ${o.container})` : ''}`,
    ...o.steps.map((s) => `  ${s.status.padEnd(7)} ${s.step}: ${s.detail}`),
  ].join('\n');
}

export function renderDependencies(o: z.output<typeof checkDependencies.output>): string {
  const out = [
    `${o.service ? `dependencies of ${o.service}` : 'startup dependencies'}: ${o.ready ? 'all satisfied' : 'NOT all satisfied'}`,
    ...o.services
      .filter((s) => s.dependsOn.length)
      .map(
        (s) =>
          `  ${s.service} (${s.status}) needs ${s.dependsOn
            .map((d) => `${d.service} ${d.condition} (${d.status}${d.satisfied ? '' : ', NOT satisfied'})`)
            .join(', ')}`,
      ),
  ];
  for (const b of o.blockers)
    out.push(
      `blocker: ${b.service} (${b.status}), needed by ${b.neededBy.join(', ')}`,
      ...b.problems.map((p) => `  - ${p}`),
    );
  return out.join('\n');
}

export function renderDiskUsage(o: z.output<typeof diskUsage.output>): string {
  const out = [
    o.summary,
    table(
      ['VOLUME', 'SIZE', 'THRESHOLD', 'USED BY', 'STATUS'],
      o.volumes.map((v) => [
        v.volume ?? v.name,
        formatBytes(v.bytes),
        v.threshold === null ? 'none' : formatBytes(v.threshold),
        v.usedBy.join(', ') || '-',
        v.over ? 'OVER' : 'ok',
      ]),
    ),
  ];
  if (o.playLogs.length)
    out.push(
      '',
      table(
        ['PLAY LOG', 'SIZE', 'THRESHOLD', 'STATUS'],
        o.playLogs.map((p) => [
          `${p.container}:${p.file}`,
          formatBytes(p.bytes),
          formatBytes(p.threshold),
          p.over ? 'OVER' : 'ok',
        ]),
        80,
      ),
    );
  for (const n of o.notMeasured) out.push(`not measured: ${n}`);
  return out.join('\n');
}

/**
 * An approval request and, once executed, its outcome rendered as that tool's own text
 * (`result` is the tool's output; `renderResult` is renderText, passed in to avoid an import cycle).
 */
export function renderApproval(
  o: z.output<typeof getApproval.output>,
  renderResult: (tool: string, output: unknown) => string,
): string {
  const out = [
    `${o.id}: ${o.status}${o.decidedBy ? ` (by ${o.decidedBy}${o.decidedVia ? ` via ${o.decidedVia}` : ''})` : ''}`,
    `${o.tool} requested by ${o.requester} at ${o.createdAt}${o.status === 'pending' ? `, expires ${o.expiresAt}` : ''}`,
    `plan: ${o.plan.summary}`,
    ...o.plan.steps.map((s, i) => `  ${i + 1}. ${s}`),
    ...(o.plan.dataAtRisk.length ? [`at risk: ${o.plan.dataAtRisk.join('; ')}`] : []),
  ];
  if (o.error) out.push(`error: ${o.error}`);
  if (o.result !== undefined) out.push('result:', indent(renderResult(o.tool, o.result)));
  return out.join('\n');
}

/** Every line indented by two spaces (a tool's rendering nested under a heading). */
export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}
