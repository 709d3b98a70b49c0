import type { z } from 'zod';
import type { backupTool } from '../tools/backup/backup.js';
import type { drillBackup } from '../tools/backup/drill-backup.js';
import type { listBackups } from '../tools/backup/list-backups.js';
import type { pruneBackups } from '../tools/backup/prune-backups.js';
import type { restoreTool } from '../tools/backup/restore.js';
import type { verifyBackup } from '../tools/backup/verify-backup.js';
import { formatBytes } from '../util/duration.js';

export function renderBackup(o: z.output<typeof backupTool.output>): string {
  const head =
    o.phase === 'Completed'
      ? `backup ${o.id} (${o.kind}) Completed in ${(o.durationMs / 1000).toFixed(1)}s: ${o.repository}`
      : `backup ${o.id} (${o.kind}) ${o.phase}: ${o.failures.length} failure(s) (${o.failures
          .map((f) => `${f.component}${f.target ? ` ${f.target}` : ''}`)
          .join(
            ', ',
          )}), ${o.components.length} saved, in ${(o.durationMs / 1000).toFixed(1)}s: ${o.repository}`;
  return [
    head,
    ...o.components.map(
      (c) =>
        `  ${c.component.padEnd(10)} ${c.target.padEnd(28)} ${formatBytes(c.bytes).padStart(8)}  ${
          c.bytesAdded === null ? '' : `+${formatBytes(c.bytesAdded)} new  `
        }${c.sha256?.slice(0, 16) ?? ''}${
          c.access === 'directory'
            ? `incremental${c.filesUnchanged !== null ? `, ${c.filesUnchanged} file(s) unchanged` : ''}`
            : c.access === 'engine'
              ? `  (streamed through ${c.node ? `node ${c.node}'s engine` : 'the engine'})`
              : ''
        }`,
    ),
    ...o.failures.map((f) => `  FAILED     ${f.component}${f.target ? ` ${f.target}` : ''}: ${f.reason}`),
    ...o.skipped.map((s) => `  skipped: ${s}`),
    ...o.offsite.map((x) => `  offsite ${x.name}: ${x.ok ? 'ok' : 'FAILED'} ${x.detail}`),
    ...o.notes.map((n) => `  NOTE: ${n}`),
  ].join('\n');
}

export function renderBackups(o: z.output<typeof listBackups.output>): string {
  const damage = o.damage.map((d) => `WARNING: ${d}`);
  if (!o.backups.length) return [`no backups (${o.repository})`, ...damage].join('\n');
  return [
    ...damage,
    `backups in ${o.repository}:`,
    ...o.backups.map((b) =>
      [
        `${b.id.padEnd(34)} ${(b.state === 'complete' ? (b.phase ?? 'Completed') : 'incomplete').padEnd(15)} ${(b.reason ?? '').padEnd(11)} ${formatBytes(b.bytes).padStart(8)}  verified: ${b.verified === null ? '-' : b.verified ? 'ok' : 'FAILED'}  ${b.components.join(' ')}${b.format === 'legacy' ? '  (pre-restic)' : ''}`,
        ...b.failed.map((f) => `    failed: ${f}`),
        ...(b.pruned.length ? [`    pruned: ${b.pruned.join(' ')}`] : []),
      ].join('\n'),
    ),
  ].join('\n');
}

export function renderVerify(o: z.output<typeof verifyBackup.output>): string {
  return [
    `backup ${o.id} (${o.where}): ${o.ok ? 'OK' : 'FAILED'}`,
    ...o.checks.map((c) => `  ${c.ok ? 'ok    ' : 'FAILED'} ${c.component}:${c.target} ${c.detail}`),
    ...(o.repositoryCheck
      ? [
          `  ${o.repositoryCheck.ok ? 'ok    ' : 'FAILED'} restic check${o.repositoryCheck.readData ? ` --read-data-subset=${o.repositoryCheck.readData}` : ''}${o.repositoryCheck.errors.length ? `: ${o.repositoryCheck.errors.slice(0, 5).join(' | ')}` : ''}`,
        ]
      : []),
  ].join('\n');
}

export function renderRestore(o: z.output<typeof restoreTool.output>): string {
  return [
    `restored ${o.component} from ${o.id} (${o.from}) in ${(o.durationMs / 1000).toFixed(1)}s (safety backup: ${o.safetyBackup})${o.completedInterrupted ? '; the interrupted restore is complete' : ''}`,
    ...o.restored.map((r) => `  ${r.target}: ${fieldsText(r.result)}`),
  ].join('\n');
}

export function renderPrune(o: z.output<typeof pruneBackups.output>): string {
  const p = o.policy;
  const lines = [
    `retention: ${p.daily} daily, ${p.weekly} weekly per component and target; newest ${p.safety} safety backups per target`,
  ];
  for (const r of o.repositories) {
    lines.push(
      `${r.name} (${r.url}): ${r.error ? `not pruned: ${r.error}` : `${o.deleted ? 'removed' : 'would remove'} ${r.groups.reduce((n, g) => n + g.remove.length, 0)} backup part(s)`}`,
    );
    for (const g of r.groups)
      lines.push(
        `  ${`${g.component}:${g.target}${g.kind === 'pre-restore' ? ' (safety)' : ''}`.padEnd(40)} keep ${g.keep.join(', ') || '-'}${g.remove.length ? `; ${o.deleted ? 'removed' : 'remove'} ${g.remove.join(', ')}` : ''}`,
      );
    if (r.removedBackups.length)
      lines.push(`  whole backups ${o.deleted ? 'removed' : 'to remove'}: ${r.removedBackups.join(', ')}`);
    for (const h of r.held) lines.push(`  kept ${h.backup}: ${h.why}`);
    if (o.deleted && r.report) lines.push(...r.report.split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

export function renderDrill(o: z.output<typeof drillBackup.output>): string {
  const mark = { ok: 'ok     ', failed: 'FAILED ', skipped: 'skipped' } as const;
  return [
    `drill of ${o.backup} (${o.where}) in scratch project ${o.scratchProject}, ${(o.durationMs / 1000).toFixed(1)}s: ${o.summary}`,
    ...o.checks.map((c) => `  ${mark[c.status]} ${c.component}:${c.target} ${c.detail}`),
  ].join('\n');
}

/** A component's restore details as `key: value` text: lists joined, nested maps as `name=value`. */
function fieldsText(result: Record<string, unknown>): string {
  const value = (v: unknown): string =>
    Array.isArray(v)
      ? v.map(value).join(', ') || 'none'
      : v && typeof v === 'object'
        ? Object.entries(v as Record<string, unknown>)
            .map(([k, x]) => `${k}=${value(x)}`)
            .join(' ')
        : typeof v === 'boolean'
          ? v
            ? 'yes'
            : 'no'
          : String(v);
  return Object.entries(result)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}: ${value(v)}`)
    .join('; ');
}
