import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isoWeek, retain } from '../../src/backup/retention.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';

// 60 days of backups ending Saturday 2026-11-28: one at 02:00 every day, a second at 14:00 every third day.
const catalog: Array<{ id: string; created: string }> = [];
for (let d = 0; d < 60; d++) {
  const day = new Date(Date.UTC(2026, 10, 28 - d));
  const date = day.toISOString().slice(0, 10);
  catalog.push({ id: `${date}-a`, created: `${date}T02:00:00.000Z` });
  if (d % 3 === 0) catalog.push({ id: `${date}-b`, created: `${date}T14:00:00.000Z` });
}
// Daily: the newest of Nov 22..28 (the 14:00 one where there is one). Weekly (ISO, Monday first):
// W48 (Nov 23-29) -> Nov 28, W47 (16-22) -> Nov 22, W46 (9-15) -> Nov 15, W45 (2-8) -> Nov 8.
const EXPECTED = [
  '2026-11-28-b',
  '2026-11-27-a',
  '2026-11-26-a',
  '2026-11-25-b',
  '2026-11-24-a',
  '2026-11-23-a',
  '2026-11-22-b',
  '2026-11-15-a',
  '2026-11-08-a',
].sort();

describe('retention', () => {
  it('ISO weeks start on Monday', () => {
    expect(isoWeek(new Date('2026-11-23T00:00:00Z'))).toBe('2026-W48');
    expect(isoWeek(new Date('2026-11-22T23:59:59Z'))).toBe('2026-W47');
    expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
  });

  it('keeps exactly 7 daily and 4 weekly on 60 days of backups', () => {
    const keep = retain(catalog, { daily: 7, weekly: 4 });
    expect([...keep.keys()].sort()).toEqual(EXPECTED);
    expect(keep.get('2026-11-28-b')).toEqual(['daily 2026-11-28', 'weekly 2026-W48']);
    expect(keep.get('2026-11-08-a')).toEqual(['weekly 2026-W45']);
  });

  it('prune_backups: dry run is read-only; the deletion needs approval and leaves exactly the policy set', async () => {
    const root = mkdtempSync(join(tmpdir(), 'prune-'));
    // Another stack's backups in the same directory are not this stack's to prune.
    mkdirSync(join(root, 'other', '2026-01-01T000000Z-full'), { recursive: true });
    const dir = join(root, 'p');
    mkdirSync(dir);
    for (const b of catalog) {
      mkdirSync(join(dir, b.id));
      writeFileSync(
        join(dir, b.id, 'MANIFEST.json'),
        JSON.stringify({
          id: b.id,
          created: b.created,
          stack: 'p',
          tool: { name: 'doom-ops', version: '0' },
          kind: 'full',
          reason: 'requested',
          components: [],
        }),
      );
    }
    mkdirSync(join(dir, '2026-11-28-c.partial'));
    const base = testContext('p').config;
    const ctx = testContext('p', undefined, { backup: { ...base.backup, dir: root } });
    const prune = findTool('prune_backups')!;
    const dry = (await invokeTool(prune, ctx, { dryRun: true })) as { remove: unknown[]; deleted: boolean };
    expect(dry).toMatchObject({ deleted: false });
    expect(dry.remove).toHaveLength(catalog.length - EXPECTED.length);
    expect(readdirSync(dir)).toHaveLength(catalog.length + 1);
    await expect(invokeTool(prune, ctx, {})).rejects.toMatchObject({ code: 'approval_required' });
    expect(readdirSync(dir)).toHaveLength(catalog.length + 1);
    let plan: { steps: string[] } | undefined;
    const approved = {
      ...ctx,
      approver: async (r: { plan: { steps: string[] } }) => {
        plan = r.plan;
        return { approved: true as const, approver: 'test', via: 'test' };
      },
    };
    await invokeTool(prune, approved, {});
    expect(plan?.steps).toHaveLength(catalog.length - EXPECTED.length);
    expect(readdirSync(dir).sort()).toEqual([...EXPECTED, '2026-11-28-c.partial'].sort());
    expect(readdirSync(join(root, 'other'))).toEqual(['2026-01-01T000000Z-full']);
  });
});
