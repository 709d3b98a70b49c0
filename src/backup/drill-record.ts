import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { ToolContext } from '../tools/context.js';

/** Drill results kept in `<stateDir>/restore/drills/<project>.json`: the last drill and the last good one. */
export const drillSummarySchema = z.object({
  at: z.string(),
  backup: z.string(),
  backupCreated: z.string(),
  ok: z.boolean(),
  detail: z.string(),
});
export type DrillSummary = z.output<typeof drillSummarySchema>;
const recordSchema = z.object({
  last: drillSummarySchema.optional(),
  lastGood: drillSummarySchema.optional(),
});

function recordFile(ctx: Pick<ToolContext, 'config' | 'project'>): string {
  return join(resolve(ctx.config.stateDir), 'restore', 'drills', `${ctx.project}.json`);
}

/** The last drill and the last good drill of the stack (local state; no repository access). */
export async function drillRecord(
  ctx: Pick<ToolContext, 'config' | 'project'>,
): Promise<z.output<typeof recordSchema>> {
  const text = await readFile(recordFile(ctx), 'utf8').catch(() => null);
  if (!text) return {};
  const r = recordSchema.safeParse(JSON.parse(text));
  return r.success ? r.data : {};
}

export async function saveRecord(ctx: ToolContext, s: DrillSummary): Promise<void> {
  const before = await drillRecord(ctx);
  const file = recordFile(ctx);
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, JSON.stringify({ last: s, lastGood: s.ok ? s : before.lastGood }, null, 2));
  await rename(`${file}.tmp`, file);
}

/** The warning health shows when no good drill happened within backup.drillMaxAge (null: none due). */
export function drillWarning(
  rec: z.output<typeof recordSchema>,
  maxAgeMs: number,
  now = Date.now(),
): string | null {
  const good = rec.lastGood;
  const failed =
    rec.last && !rec.last.ok ? ` (the last drill, ${rec.last.at}, failed: ${rec.last.detail})` : '';
  if (!good) return `no restore drill has succeeded yet${failed}: run doom-ops drill`;
  const age = now - Date.parse(good.at);
  if (age <= maxAgeMs) return failed ? `the last restore drill failed${failed}` : null;
  return `the last good restore drill was ${Math.round(age / 86_400_000)} day(s) ago (${good.at}), more than backup.drillMaxAge${failed}: run doom-ops drill`;
}
