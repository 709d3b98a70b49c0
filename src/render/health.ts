import type { z } from 'zod';
import type { stackHealth } from '../tools/health/stack-health.js';
import { formatDuration } from '../util/duration.js';
import { table } from './table.js';

type Health = z.output<typeof stackHealth.output>;

export function renderHealth(h: Health): string {
  const rows = h.services.map((s) => {
    const c = s.containers;
    const restarts = c.reduce((n, x) => n + x.restartCount, 0);
    const uptime = c.map((x) => x.uptimeSeconds).filter((u): u is number => u !== null);
    const exit = c.find((x) => x.lastExit)?.lastExit;
    return [
      s.service,
      s.ok ? 'ok' : 'FAIL',
      s.status,
      `${s.replicas.running}/${s.replicas.total}`,
      restarts,
      c.some((x) => x.oomKilled) ? 'yes' : '',
      exit ? `${exit.code ?? '?'}${exit.signal ? ` ${exit.signal}` : ''}` : '',
      uptime.length ? formatDuration(Math.min(...uptime) * 1000) : '',
      s.critical ? 'critical' : '',
    ];
  });
  const out = [
    `project ${h.project} on ${h.engine}`,
    `verdict: ${h.verdict.toUpperCase()}  ${h.summary}`,
    '',
    table(['SERVICE', 'OK', 'STATUS', 'UP', 'RESTARTS', 'OOM', 'LAST EXIT', 'UPTIME', ''], rows),
  ];
  const problems = h.services.flatMap((s) => s.problems.map((p) => `  ${s.service}: ${p}`));
  if (problems.length) out.push('', 'problems:', ...problems);
  if (h.swarm) {
    out.push(
      '',
      'swarm nodes:',
      ...h.swarm.nodes.map(
        (n) =>
          `  ${n.hostname} (${n.role}): ${n.state}, ${n.availability}${n.endpoint ? '' : ', no engine endpoint in swarm.nodes'}`,
      ),
      ...h.swarm.problems.map((p) => `  ! ${p}`),
      ...h.swarm.notes.map((n) => `  note: ${n}`),
    );
    // The latest tasks of services in trouble: where they ran and how they ended.
    for (const s of h.services)
      if (!s.ok && s.swarm?.tasks.length)
        out.push(
          '',
          `${s.service} tasks (newest first):`,
          ...s.swarm.tasks
            .slice(0, 6)
            .map(
              (t) =>
                `  ${t.at}  slot ${t.slot ?? '-'}  ${t.node ?? 'unplaced'}  ${t.state}${t.error ? `: ${t.error}` : ''}`,
            ),
        );
  }
  const exits = new Map<string, string>();
  for (const s of h.services)
    for (const c of s.containers)
      if (c.lastExit?.code) exits.set(String(c.lastExit.code), c.lastExit.meaning);
  if (exits.size)
    out.push('', 'exit codes:', ...[...exits].map(([code, meaning]) => `  ${code}: ${meaning}`));
  const b = h.backups;
  if (b) {
    const notes = [...(b.restore && !b.warnings.includes(b.restore) ? [b.restore] : []), ...b.warnings];
    if (b.lastGoodDrill)
      notes.push(
        `last good restore drill ${b.lastGoodDrill.at}: backup ${b.lastGoodDrill.backup} restorable as of ${b.lastGoodDrill.restorableAsOf}`,
      );
    if (notes.length) out.push('', 'backups:', ...notes.map((n) => `  ${n}`));
  }
  return out.join('\n');
}
