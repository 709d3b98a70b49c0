import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/adapters/docker/types.js';
import { classifyDeaths, deathFromState, verdictKind } from '../../src/knowledge/restart-analysis.js';

let clock = Date.parse('2026-11-28T10:00:00Z');
function ev(action: string, attributes: Record<string, string> = {}, id = 'c1', gapMs = 100): EngineEvent {
  clock += gapMs;
  return {
    time: new Date(clock).toISOString(),
    type: 'container',
    action,
    id,
    name: `p_${id}_1`,
    attributes,
  };
}

describe('classifyDeaths', () => {
  it('oom then die 137 is an OOM kill', () => {
    const d = classifyDeaths([ev('start'), ev('oom'), ev('die', { exitCode: '137' }), ev('start')]);
    expect(d).toMatchObject([{ cause: 'oom', exitCode: 137, meaning: expect.stringMatching(/OOM killer/) }]);
  });

  it('kill 15, die, stop, start, restart is an operator restart', () => {
    const d = classifyDeaths([
      ev('kill', { signal: '15' }),
      ev('die', { exitCode: '0' }),
      ev('stop'),
      ev('start'),
      ev('restart'),
    ]);
    expect(d).toMatchObject([{ cause: 'operator', signal: 'SIGTERM' }]);
    expect(verdictKind(d, false)).toBe('operator_restart');
  });

  it('a kill with no stop after it is a signal from outside', () => {
    expect(classifyDeaths([ev('kill', { signal: '9' }), ev('die', { exitCode: '137' })])).toMatchObject([
      { cause: 'signal', signal: 'SIGKILL' },
    ]);
  });

  it('die 137 with neither an oom nor an API kill event is a SIGKILL from outside, not an app error', () => {
    expect(classifyDeaths([ev('start'), ev('die', { exitCode: '137' })])).toMatchObject([
      { cause: 'signal', signal: 'SIGKILL' },
    ]);
  });

  it('die 1 alone is an application error; the latest failure decides the verdict', () => {
    const d = classifyDeaths([
      ev('oom'),
      ev('die', { exitCode: '137' }),
      ev('start', {}, 'c1', 10_000),
      ev('die', { exitCode: '1' }, 'c1', 10_000),
    ]);
    expect(d.map((x) => x.cause)).toEqual(['oom', 'app_error']);
    expect(verdictKind(d, false)).toBe('app_error');
  });

  it('events of other containers and far-away kills do not explain a death', () => {
    const d = classifyDeaths([
      ev('oom', {}, 'c2'),
      ev('kill', { signal: '15' }, 'c1', 0),
      ev('die', { exitCode: '1' }, 'c1', 60_000),
    ]);
    expect(d[0]!.cause).toBe('app_error');
  });

  it('no deaths: unhealthy or nothing', () => {
    expect(verdictKind([], true)).toBe('unhealthy');
    expect(verdictKind([], false)).toBe('no_restarts');
  });
});

describe('deathFromState', () => {
  const base = { name: 'p_orchestrator_1', restartCount: 5 };
  it('recovers the last death from container state when the events are gone', () => {
    const d = deathFromState(
      {
        ...base,
        state: { running: false, exitCode: 1, oomKilled: false, finishedAt: '2026-11-28T10:00:00Z' },
      },
      [],
      Date.parse('2026-11-28T09:00:00Z'),
    );
    expect(d).toMatchObject({ container: 'p_orchestrator_1', exitCode: 1, cause: 'app_error' });
    expect(
      deathFromState(
        {
          ...base,
          state: { running: false, exitCode: 137, oomKilled: true, finishedAt: '2026-11-28T10:00:00Z' },
        },
        [],
        0,
      )?.cause,
    ).toBe('oom');
  });

  it('adds nothing when an event already shows that death, or it is outside the window, or it never died', () => {
    const state = { running: false, exitCode: 1, oomKilled: false, finishedAt: '2026-11-28T10:00:00Z' };
    const known = [
      {
        time: '2026-11-28T10:00:00.5Z',
        container: 'p_orchestrator_1',
        exitCode: 1,
        meaning: '',
        cause: 'app_error' as const,
        signal: null,
      },
    ];
    expect(deathFromState({ ...base, state }, known, 0)).toBeNull();
    expect(deathFromState({ ...base, state }, [], Date.parse('2026-11-28T11:00:00Z'))).toBeNull();
    expect(
      deathFromState(
        {
          name: 'x',
          restartCount: 0,
          state: { ...state, running: true, finishedAt: '0001-01-01T00:00:00Z' },
        },
        [],
        0,
      ),
    ).toBeNull();
  });
});
