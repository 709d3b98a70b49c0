import { DamagedSnapshotsError } from '../adapters/restic/repository.js';
import { ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { deleteSnapshot } from './components/opensearch.js';
import { readJournal } from './journal.js';
import type { BackupStore, StoredBackup } from './store.js';

/** One retention group (a stack's component target, or its safety backups) with what stays and what goes. */
export interface GroupDecision {
  component: string;
  target: string;
  /** requested: backup.retention daily/weekly; pre-restore: the newest backup.retention.safety. */
  kind: 'requested' | 'pre-restore';
  keep: string[];
  remove: string[];
}

export interface PruneDecision {
  groups: GroupDecision[];
  /** Snapshot ids to forget: data removed by the policy, plus sums and manifests nothing needs any more. */
  forget: string[];
  /** Backups that disappear entirely (no component of them is left). */
  removedBackups: string[];
  /** OpenSearch snapshots whose records are removed (deleted from OpenSearch after the prune). */
  openSearchSnapshots: string[];
  /** Backups retention would remove but a restore still needs (the restore journal), with why. */
  held: Array<{ backup: string; why: string }>;
}

function tag(tags: string[], key: string): string {
  return tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
}

/** The calendar fields of an RFC 3339 time in its own offset (restic buckets by the snapshot's local time). */
function localParts(time: string): Date {
  const m = /([+-])(\d\d):(\d\d)$/.exec(time);
  const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  return new Date(Date.parse(time) + offset * 60_000);
}

function dayKey(time: string): string {
  return localParts(time).toISOString().slice(0, 10);
}

/** ISO 8601 week (Monday first) of the snapshot's local date: "2026-W48" (restic's keep-weekly buckets). */
export function isoWeek(time: string): string {
  const d = localParts(time);
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/**
 * restic's forget policy for one group (newest first): keep-last N, keep-daily N (the newest of
 * each of the last N days that have one), keep-weekly N (ISO weeks); a snapshot any rule keeps is
 * kept. Returns the ids kept and removed. Same semantics as `restic forget`, applied here so that
 * snapshots of incomplete backups (killed before their manifest) never count: restic cannot leave
 * them out of a policy, and one would otherwise stand in for the newest complete backup of its day.
 */
export function applyPolicy(
  snapshots: Array<{ id: string; time: string }>,
  p: { last: number; daily: number; weekly: number },
): { keep: string[]; remove: string[] } {
  const newest = [...snapshots].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const kept = new Set<string>();
  const rule = (n: number, key: (s: { id: string; time: string }) => string) => {
    const seen = new Set<string>();
    for (const s of newest) {
      if (seen.size >= n) break;
      const k = key(s);
      if (seen.has(k)) continue;
      seen.add(k);
      kept.add(s.id);
    }
  };
  rule(p.last, (s) => s.id);
  rule(p.daily, (s) => dayKey(s.time));
  rule(p.weekly, (s) => isoWeek(s.time));
  return {
    keep: newest.filter((s) => kept.has(s.id)).map((s) => s.id),
    remove: newest.filter((s) => !kept.has(s.id)).map((s) => s.id),
  };
}

/**
 * What retention removes from one repository. Data snapshots of complete backups are grouped by
 * host, kind (requested or safety), component and target (from their tags; not by path, since a
 * volume read from its directory and one streamed through the engine have different paths, and not
 * by restic's `--group-by tags`, which would compare every tag, the backup id too), so each stack,
 * component and target is its own group and keeps its
 * newest backups whatever the other components do) and restic's keep-daily / keep-weekly policy is
 * applied to each group (applyPolicy). Safety backups (reason=pre-restore) are their own groups, kept by count (the newest retention.safety), so they
 * never push out the backup a restore came from. Snapshots of incomplete backups (no whole manifest: the
 * process died) are removed outright and never count. Manifests and per-file checksum lists go when
 * no data of their backup is left. Executed with `restic forget <ids>` (applyPrune).
 */
export async function decidePrune(ctx: ToolContext, store: BackupStore): Promise<PruneDecision> {
  const p = ctx.config.backup.retention;
  const snapshots = await store.stackSnapshots().catch((err: unknown) => {
    // A snapshot restic cannot load may be the manifest that makes a backup complete: retention
    // decided without it could count a good backup as incomplete and remove its data.
    if (err instanceof DamagedSnapshotsError)
      throw new ToolError(
        'failed',
        `${err.message}; retention was not applied and nothing was removed, because a backup whose manifest is in an unloadable snapshot would be taken for an incomplete one`,
        err.hint ? { hint: err.hint } : {},
      );
    throw err;
  });
  // Complete by the manifest's content, not only its tag: a manifest snapshot whose writer was
  // killed holds no whole manifest (StoredBackup state incomplete).
  const listed: StoredBackup[] = await store.list(snapshots);
  const complete = new Set(listed.filter((b) => b.state === 'complete').map((b) => b.id));
  const incomplete = snapshots.filter((s) => !complete.has(tag(s.tags, 'backup')));
  // Data snapshots a complete backup's manifest does not name (restic's incomplete snapshot of a
  // volume saved again through the engine, left when it could not be removed): never counted, removed.
  const named = new Set(
    listed.flatMap((b) => (b.manifest?.components ?? []).flatMap((e) => [e.snapshot, e.sums])),
  );
  const unnamed = snapshots.filter(
    (s) => s.tags.includes('role=data') && complete.has(tag(s.tags, 'backup')) && !named.has(s.id),
  );
  const grouped = new Map<string, { kind: 'requested' | 'pre-restore'; snaps: typeof snapshots }>();
  for (const s of snapshots) {
    if (!s.tags.includes('role=data') || !complete.has(tag(s.tags, 'backup')) || !named.has(s.id)) continue;
    const kind = tag(s.tags, 'reason') === 'pre-restore' ? 'pre-restore' : 'requested';
    // By tags, not paths: a volume read from its directory has the same path in a backup and in a
    // safety backup, and a different one when it was streamed through the engine instead.
    const key = [s.hostname, kind, tag(s.tags, 'component'), tag(s.tags, 'target')].join('\0');
    const g = grouped.get(key) ?? { kind, snaps: [] };
    g.snaps.push(s);
    grouped.set(key, g);
  }
  const requested = {
    groups: [] as Array<{ keep: string[]; remove: string[]; kind: 'requested' | 'pre-restore' }>,
  };
  for (const g of grouped.values()) {
    const policy =
      g.kind === 'pre-restore'
        ? { last: p.safety, daily: 0, weekly: 0 }
        : { last: p.daily + p.weekly > 0 ? 0 : Number.MAX_SAFE_INTEGER, daily: p.daily, weekly: p.weekly };
    requested.groups.push({ ...applyPolicy(g.snaps, policy), kind: g.kind });
  }
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  const backupOf = (id: string) => tag(byId.get(id)?.tags ?? [], 'backup');
  // A restore that is interrupted (or running) still reads its backup, and its safety backup is
  // the way back: neither goes while the journal is there, whatever the policy says.
  const journal = await readJournal(ctx.config, ctx.project);
  const needed = new Map<string, string>();
  if (journal) {
    const what = `${journal.interrupted ? 'the interrupted' : 'the running'} restore of ${journal.component} (doom-ops restore with no arguments completes it)`;
    needed.set(journal.id, `${what} reads it`);
    if (journal.safetyBackup) needed.set(journal.safetyBackup, `the safety backup of ${what}`);
  }
  const held = new Map<string, string>();
  const groups: GroupDecision[] = [];
  const removed = new Set<string>([...incomplete, ...unnamed].map((s) => s.id));
  for (const g of requested.groups) {
    const first = byId.get(g.keep[0] ?? g.remove[0] ?? '');
    const keep = [...g.keep];
    const remove: string[] = [];
    for (const id of g.remove) {
      const why = needed.get(backupOf(id));
      if (why) {
        held.set(backupOf(id), why);
        keep.push(id);
      } else {
        removed.add(id);
        remove.push(id);
      }
    }
    groups.push({
      component: tag(first?.tags ?? [], 'component'),
      target: tag(first?.tags ?? [], 'target'),
      kind: g.kind,
      keep: keep.map(backupOf),
      remove: remove.map(backupOf),
    });
  }
  // Data left per backup after the policy, and per backup + target (for the checksum lists).
  const left = new Set<string>();
  const leftTarget = new Set<string>();
  for (const s of snapshots)
    if (s.tags.includes('role=data') && !removed.has(s.id)) {
      left.add(tag(s.tags, 'backup'));
      leftTarget.add(`${tag(s.tags, 'backup')}/${tag(s.tags, 'target')}`);
    }
  const forget = [...removed];
  const removedBackups = new Set<string>(incomplete.map((s) => tag(s.tags, 'backup')));
  for (const s of snapshots) {
    const b = tag(s.tags, 'backup');
    if (s.tags.includes('role=manifest') && complete.has(b) && !left.has(b)) {
      // A manifest whose backup has no data left (its data all removed now, or a Failed backup).
      forget.push(s.id);
      removedBackups.add(b);
    }
    if (s.tags.includes('role=sums') && !leftTarget.has(`${b}/${tag(s.tags, 'target')}`)) forget.push(s.id);
  }
  const openSearchSnapshots: string[] = [];
  const removedOs = snapshots.filter((s) => removed.has(s.id) && s.tags.includes('component=opensearch'));
  if (removedOs.length) {
    for (const s of removedOs) {
      const m = listed.find((b) => b.id === tag(s.tags, 'backup'))?.manifest;
      const e = m?.components.find((c) => c.snapshot === s.id);
      if (e?.details.snapshot) openSearchSnapshots.push(String(e.details.snapshot));
    }
  }
  groups.sort((a, b) =>
    `${a.kind}${a.component}${a.target}`.localeCompare(`${b.kind}${b.component}${b.target}`),
  );
  return {
    groups,
    forget: [...new Set(forget)].sort(),
    removedBackups: [...removedBackups].sort(),
    openSearchSnapshots,
    held: [...held].map(([backup, why]) => ({ backup, why })),
  };
}

/** Forgets exactly the decided snapshots, prunes the repository, deletes the OpenSearch snapshots. */
export async function applyPrune(
  ctx: ToolContext,
  store: BackupStore,
  d: PruneDecision,
): Promise<{ report: string; openSearchNotDeleted: string[] }> {
  if (d.forget.length === 0) return { report: 'nothing to remove', openSearchNotDeleted: [] };
  await store.repo.unlock(ctx.signal).catch(() => undefined);
  await store.repo.forgetIds(d.forget, ctx.signal);
  const report = await store.repo.prune(ctx.signal);
  const notDeleted: string[] = [];
  for (const name of d.openSearchSnapshots) if (!(await deleteSnapshot(ctx, name))) notDeleted.push(name);
  return { report, openSearchNotDeleted: notDeleted };
}
