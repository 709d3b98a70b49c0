import type { ToolContext } from '../tools/context.js';
import { deleteSnapshot } from './components/opensearch.js';
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
}

function tag(tags: string[], key: string): string {
  return tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
}

/**
 * What retention removes from one repository, computed with restic's own policy engine (`forget
 * --dry-run --group-by host,paths`; every data snapshot's path is <stack>/<component>/<target>, so
 * each stack, component and target is its own group and keeps its newest backups whatever the
 * other components do). Safety backups (reason=pre-restore) live under <stack>/pre-restore/…: their
 * own groups, kept by count (`--keep-last`), so they never push out the backup a restore came from.
 * Manifests and per-file checksum lists go when no data of their backup is left.
 */
export async function decidePrune(ctx: ToolContext, store: BackupStore): Promise<PruneDecision> {
  const p = ctx.config.backup.retention;
  const base = ['doom-ops', `stack=${ctx.project}`, 'role=data'];
  const signal = ctx.signal;
  const requested =
    p.daily + p.weekly > 0
      ? await store.repo.forget({
          keepDaily: p.daily,
          keepWeekly: p.weekly,
          groupBy: 'host,paths',
          tags: [...base, 'reason=requested'],
          dryRun: true,
          prune: false,
          signal,
        })
      : { groups: [] };
  const safety = await store.repo.forget({
    keepDaily: 0,
    keepWeekly: 0,
    keepLast: p.safety,
    groupBy: 'host,paths',
    tags: [...base, 'reason=pre-restore'],
    dryRun: true,
    prune: false,
    signal,
  });
  const snapshots = await store.stackSnapshots();
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  const backupOf = (id: string) => tag(byId.get(id)?.tags ?? [], 'backup');
  const groups: GroupDecision[] = [];
  const removed = new Set<string>();
  for (const [kind, r] of [
    ['requested', requested],
    ['pre-restore', safety],
  ] as const)
    for (const g of r.groups) {
      const first = byId.get(g.keep[0] ?? g.remove[0] ?? '');
      for (const id of g.remove) removed.add(id);
      groups.push({
        component: tag(first?.tags ?? [], 'component'),
        target: tag(first?.tags ?? [], 'target'),
        kind,
        keep: g.keep.map(backupOf),
        remove: g.remove.map(backupOf),
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
  const removedBackups = new Set<string>();
  for (const s of snapshots) {
    const b = tag(s.tags, 'backup');
    if (s.tags.includes('role=manifest') && !left.has(b)) {
      // A manifest whose backup has no data left (its data all removed now, or a Failed backup).
      forget.push(s.id);
      removedBackups.add(b);
    }
    if (s.tags.includes('role=sums') && !leftTarget.has(`${b}/${tag(s.tags, 'target')}`)) forget.push(s.id);
  }
  const openSearchSnapshots: string[] = [];
  const removedOs = snapshots.filter((s) => removed.has(s.id) && s.tags.includes('component=opensearch'));
  if (removedOs.length) {
    const list: StoredBackup[] = await store.list(snapshots);
    for (const s of removedOs) {
      const m = list.find((b) => b.id === tag(s.tags, 'backup'))?.manifest;
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
