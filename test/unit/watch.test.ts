import { describe, expect, it } from 'vitest';
import { incidentMessage } from '../../src/slack/incidents.js';
import type { Incident } from '../../src/watch/incident-store.js';
import { headlineKind, runbookFor } from '../../src/watch/notifier.js';
import { SlidingWindowLimit } from '../../src/watch/rate-limit.js';

const base: Incident = {
  id: 'inc_1',
  key: 'service:orchestrator',
  service: 'orchestrator',
  kinds: ['restart_loop', 'oom'],
  title: 'orchestrator: OOM-killed (3 OOM kill(s))',
  verdict: 'orchestrator was killed by the kernel OOM killer at its memory limit of 32 MiB (3 time(s)).',
  evidence: ['exit 137 at 10:00:01'],
  deaths: 3,
  oomKills: 3,
  openedAt: '2026-11-28T10:00:00.000Z',
  updatedAt: '2026-11-28T10:00:05.000Z',
  resolvedAt: null,
  status: 'open',
};

describe('rate limit', () => {
  it('allows at most N sends per sliding window and says when the next is free', () => {
    let t = 0;
    const limit = new SlidingWindowLimit(2, 10_000, () => t);
    expect(limit.tryTake()).toBe(true);
    t = 4000;
    expect(limit.tryTake()).toBe(true);
    expect(limit.tryTake()).toBe(false);
    expect(limit.nextFreeAt()).toBe(10_000);
    t = 10_000;
    expect(limit.tryTake()).toBe(true);
    expect(limit.tryTake(2)).toBe(false);
  });
});

describe('incident kinds', () => {
  it('names an incident by its most severe kind and picks the matching runbook', () => {
    expect(headlineKind(base)).toBe('oom');
    expect(runbookFor(base)).toBe('oom-kill');
    expect(runbookFor({ kinds: ['unhealthy', 'restart_loop'] })).toBe('restart-loop');
    expect(runbookFor({ kinds: ['disk'] })).toBe('disk-usage');
    expect(runbookFor({ kinds: ['unhealthy'] })).toBe('unhealthy-service');
  });
});

describe('incident message', () => {
  const actions = (m: ReturnType<typeof incidentMessage>) =>
    JSON.stringify(m.blocks.filter((b) => b.type === 'actions'));

  it('shows verdict, evidence and the three buttons while open', () => {
    const m = incidentMessage(base, Date.parse('2026-11-28T10:01:00Z'));
    expect(m.text).toContain('OOM killer');
    expect(actions(m)).toMatch(/doom_incident_runbook.*doom_incident_action.*doom_incident_mute/);
    expect(actions(m)).toContain('Run oom-kill runbook');
  });

  it('drops the mute button while muted and every button once resolved', () => {
    const now = Date.parse('2026-11-28T10:01:00Z');
    const muted = incidentMessage({ ...base, mutedUntil: '2026-11-28T11:00:00.000Z', mutedBy: '<@U1>' }, now);
    expect(actions(muted)).not.toContain('doom_incident_mute');
    expect(JSON.stringify(muted.blocks)).toContain('muted until');
    const resolved = incidentMessage(
      { ...base, status: 'resolved', resolvedAt: '2026-11-28T10:02:00.000Z' },
      now,
    );
    expect(actions(resolved)).toBe('[]');
    expect(resolved.text).toMatch(/^resolved/);
  });

  it('escapes stack text so it cannot mention or link', () => {
    const m = incidentMessage({ ...base, verdict: 'crash <!channel> & <http://x|y>' });
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
  });
});

describe('incident store', () => {
  it('keeps a mute stored meanwhile when saving from an older copy', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { IncidentStore } = await import('../../src/watch/incident-store.js');
    const store = new IncidentStore(mkdtempSync(join(tmpdir(), 'doominc-')), 'p');
    store.save(base);
    const older = store.get(base.id)!;
    store.mute(base.id, Date.parse('2026-11-28T12:00:00Z'), '<@U1>');
    store.save({ ...older, deaths: 9 });
    expect(store.get(base.id)).toMatchObject({
      deaths: 9,
      mutedUntil: '2026-11-28T12:00:00.000Z',
      mutedBy: '<@U1>',
    });
    expect(store.openFor('service:orchestrator')?.id).toBe(base.id);
  });
});
