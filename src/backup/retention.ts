/** The handbook's retention: the newest backup of each of the last `daily` days and `weekly` ISO weeks that have one. */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
}

function dayKey(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** ISO 8601 week (Monday first), in UTC: "2026-W48". */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/**
 * Which backups to keep (restic's keep-daily / keep-weekly semantics: the two rules are applied
 * independently and a backup kept by either is kept). Returns ids with the rule(s) that keep them.
 */
export function retain(
  backups: Array<{ id: string; created: string }>,
  policy: RetentionPolicy,
): Map<string, string[]> {
  const newestFirst = [...backups].sort((a, b) => b.created.localeCompare(a.created));
  const keep = new Map<string, string[]>();
  const apply = (rule: string, n: number, key: (d: Date) => string) => {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      if (seen.size >= n) break;
      const k = key(new Date(b.created));
      if (seen.has(k)) continue;
      seen.add(k);
      keep.set(b.id, [...(keep.get(b.id) ?? []), `${rule} ${k}`]);
    }
  };
  apply('daily', policy.daily, dayKey);
  apply('weekly', policy.weekly, isoWeek);
  return keep;
}
