import { describe, expect, it } from 'vitest';
import { journalSchema, touchedData } from '../../src/backup/journal.js';

/** A restore journal as restore writes it (fields not under test filled in). */
const journal = (fields: Record<string, unknown>) =>
  journalSchema.parse({
    id: 'b1',
    component: 'mongodb',
    targets: ['mongodb'],
    repository: 'local',
    startedAt: '2026-12-04T00:00:00Z',
    updatedAt: '2026-12-04T00:00:00Z',
    host: 'h',
    pid: 1,
    step: 'verifying and safety-backup',
    ...fields,
  });

describe('restore journal: whether data was changed', () => {
  it('a run still checking has changed nothing; one restoring, or that stopped services, has', () => {
    expect(touchedData(journal({}))).toBe(false);
    expect(touchedData(journal({ step: 'restoring mongodb' }))).toBe(true);
    expect(touchedData(journal({ step: 'verifying', stopped: ['p-agent-1'] }))).toBe(true);
  });

  it('a resumed run checking again (mongodb: nothing stopped) still says data was changed', () => {
    // The attack-pass case: the resumed run rewrote the step to `verifying`; without the lasting
    // mark, a failure here would have made the next run back up the half-restored data as "safety".
    expect(touchedData(journal({ step: 'verifying', touched: true, safetyBackup: 's1' }))).toBe(true);
    // Journals written before the mark existed read as before.
    expect(journal({}).touched).toBe(false);
  });
});
