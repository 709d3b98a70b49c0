import type { z } from 'zod';
import type { backupTool } from '../tools/backup.js';
import type { listBackups } from '../tools/list-backups.js';
import type { pruneBackups } from '../tools/prune-backups.js';
import type { restoreTool } from '../tools/restore.js';
import type { verifyBackup } from '../tools/verify-backup.js';
import { formatBytes } from '../util/duration.js';

export function renderBackup(o: z.output<typeof backupTool.output>): string {
  return [
    `backup ${o.id} (${o.kind}) written and verified in ${(o.durationMs / 1000).toFixed(1)}s: ${o.dir}`,
    ...o.components.map(
      (c) =>
        `  ${c.component.padEnd(10)} ${c.target.padEnd(28)} ${formatBytes(c.bytes).padStart(8)}  ${c.sha256?.slice(0, 16) ?? '(snapshot)'}`,
    ),
    ...o.skipped.map((s) => `  skipped: ${s}`),
  ].join('\n');
}

export function renderBackups(o: z.output<typeof listBackups.output>): string {
  if (!o.backups.length) return `no backups in ${o.dir}`;
  return o.backups
    .map(
      (b) =>
        `${b.id.padEnd(34)} ${b.state.padEnd(10)} ${(b.reason ?? '').padEnd(11)} ${formatBytes(b.bytes).padStart(8)}  verified: ${b.verified === null ? '-' : b.verified ? 'ok' : 'FAILED'}  ${b.components.join(' ')}`,
    )
    .join('\n');
}

export function renderVerify(o: z.output<typeof verifyBackup.output>): string {
  return [
    `backup ${o.id}: ${o.ok ? 'OK' : 'FAILED'}`,
    ...o.checks.map((c) => `  ${c.ok ? 'ok    ' : 'FAILED'} ${c.component}:${c.target} ${c.detail}`),
  ].join('\n');
}

export function renderRestore(o: z.output<typeof restoreTool.output>): string {
  return [
    `restored ${o.component} from ${o.id} in ${(o.durationMs / 1000).toFixed(1)}s (safety backup: ${o.safetyBackup})`,
    ...o.restored.map((r) => `  ${r.target}: ${fieldsText(r.result)}`),
  ].join('\n');
}

export function renderPrune(o: z.output<typeof pruneBackups.output>): string {
  return [
    `${o.deleted ? 'deleted' : 'would delete'} ${o.remove.length}, keep ${o.keep.length} (${o.policy.daily} daily, ${o.policy.weekly} weekly)`,
    ...o.keep.map((k) => `  keep   ${k.id}  ${k.keptBy.join(', ')}`),
    ...o.remove.map((r) => `  ${o.deleted ? 'deleted' : 'delete '} ${r.id}`),
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
