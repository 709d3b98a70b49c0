import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/adapters/docker/types.js';
import {
  type ContainerState,
  type Death,
  deathFromState,
  minimumDeaths,
  readHistory,
  verdictKind,
} from '../../src/knowledge/restart-analysis.js';

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
const causes = (events: EngineEvent[]) => readHistory(events).deaths.map((d) => d.cause);

describe('readHistory: deaths by the order of events', () => {
  it('oom then die 137 is an OOM kill of the main process', () => {
    const h = readHistory([ev('start'), ev('oom'), ev('die', { exitCode: '137' }), ev('start')]);
    expect(h.deaths).toMatchObject([
      { cause: 'oom', exitCode: 137, meaning: expect.stringMatching(/OOM killer/) },
    ]);
    expect(h.processOomKills).toEqual([]);
  });

  it('die 137 with its oom stamped just after it (before the next start) is an OOM kill too', () => {
    // Seen on the real engine: the first of three OOM kills had its oom event 1 ms after the die.
    const h = readHistory([
      ev('start'),
      ev('die', { exitCode: '137' }),
      ev('oom', {}, 'c1', 1),
      ev('start'),
      ev('oom', {}, 'c1', 2000),
      ev('die', { exitCode: '137' }, 'c1', 5),
      ev('start', {}, 'c1', 500),
    ]);
    expect(h.deaths.map((d) => d.cause)).toEqual(['oom', 'oom']);
    // The late oom is not counted again as a process killed inside the next run.
    expect(h.processOomKills).toEqual([]);
  });

  it('an oom after a die 137 is not taken for it once the container started again, or when late', () => {
    expect(
      causes([ev('start'), ev('die', { exitCode: '137' }), ev('start', {}, 'c1', 1), ev('oom', {}, 'c1', 1)]),
    ).toEqual(['signal']);
    expect(causes([ev('start'), ev('die', { exitCode: '137' }), ev('oom', {}, 'c1', 6000)])).toEqual([
      'signal',
    ]);
    // Only a die 137 can be an OOM kill.
    expect(causes([ev('start'), ev('die', { exitCode: '1' }), ev('oom', {}, 'c1', 1)])).toEqual([
      'app_error',
    ]);
  });

  it('kill 15, die, stop, start, restart is an operator restart', () => {
    const d = readHistory([
      ev('kill', { signal: '15' }),
      ev('die', { exitCode: '0' }),
      ev('stop'),
      ev('start'),
      ev('restart'),
    ]).deaths;
    expect(d).toMatchObject([{ cause: 'operator', signal: 'SIGTERM', stopTimeout: null }]);
    expect(verdictKind(d, { unhealthy: false })).toBe('operator_restart');
  });

  it('an oom during an operator stop (a child killed meanwhile) does not make it an OOM kill', () => {
    // The field report: a pre-forking server restarted by hand while a worker was being OOM-killed.
    const h = readHistory([
      ev('start'),
      ev('oom', {}, 'c1', 3000),
      ev('oom', {}, 'c1', 3000),
      ev('kill', { signal: '15' }, 'c1', 1000),
      ev('oom', {}, 'c1', 500),
      ev('kill', { signal: '9' }, 'c1', 2500),
      ev('die', { exitCode: '137' }, 'c1', 30),
      ev('stop'),
      ev('start'),
      ev('restart'),
    ]);
    expect(h.deaths).toMatchObject([
      { cause: 'operator', stopTimeout: { graceSeconds: 3, stopSignal: 'SIGTERM' } },
    ]);
    expect(h.deaths[0]!.meaning).toMatch(/did not exit on SIGTERM within the 3 s stop timeout/);
    expect(h.processOomKills).toHaveLength(3);
    expect(verdictKind(h.deaths, { unhealthy: false })).toBe('operator_restart');
  });

  it('SIGTERM, the stop timeout, SIGKILL, die 137, stop: an operator stop that ended uncleanly', () => {
    const d = readHistory([
      ev('start'),
      ev('kill', { signal: '15' }, 'c1', 5000),
      ev('kill', { signal: '9' }, 'c1', 10_000),
      ev('die', { exitCode: '137' }, 'c1', 40),
      ev('stop'),
    ]).deaths;
    expect(d).toMatchObject([{ cause: 'operator', stopTimeout: { graceSeconds: 10 } }]);
  });

  it('a stop with no kill or die before it came while the engine waited to restart the container', () => {
    const h = readHistory([
      ev('start'),
      ev('oom', {}, 'c1', 3000),
      ev('die', { exitCode: '137' }, 'c1', 20),
      ev('stop', {}, 'c1', 2000),
    ]);
    expect(h.deaths.map((d) => d.cause)).toEqual(['oom']);
    expect(h.idleStops).toHaveLength(1);
    // A stop that ends a run is part of that death, not an idle stop.
    expect(
      readHistory([ev('kill', { signal: '15' }), ev('die', { exitCode: '0' }), ev('stop')]).idleStops,
    ).toEqual([]);
  });

  it('the stop signal is the last one before the SIGKILL: an earlier HUP (a reload) is not part of the stop', () => {
    const d = readHistory([
      ev('start'),
      ev('kill', { signal: '1' }, 'c1', 1000),
      ev('kill', { signal: '15' }, 'c1', 20_000),
      ev('kill', { signal: '9' }, 'c1', 3000),
      ev('die', { exitCode: '137' }, 'c1', 30),
      ev('stop'),
    ]).deaths;
    expect(d).toMatchObject([
      { cause: 'operator', signal: 'SIGTERM', stopTimeout: { stopSignal: 'SIGTERM', graceSeconds: 3 } },
    ]);
  });

  it('128+n with no kill event is a signal from the host or inside the container, not through the API', () => {
    const d = readHistory([ev('start'), ev('die', { exitCode: '143' }, 'c1', 5000), ev('start')]).deaths;
    expect(d).toMatchObject([{ cause: 'signal', signal: 'SIGTERM', viaApi: false }]);
    expect(d[0]!.meaning).toMatch(/did not come through the Docker API/);
    expect(readHistory([ev('kill', { signal: '9' }), ev('die', { exitCode: '137' })]).deaths[0]!.viaApi).toBe(
      true,
    );
  });

  it('the latest death decides: a stop by hand after crashes is a stop; a job that succeeded on a retry completed', () => {
    const stopped = readHistory([
      ev('start'),
      ev('die', { exitCode: '1' }, 'c1', 1000),
      ev('start'),
      ev('die', { exitCode: '1' }, 'c1', 1000),
      ev('start'),
      ev('kill', { signal: '15' }, 'c1', 30_000),
      ev('die', { exitCode: '0' }),
      ev('stop'),
    ]).deaths;
    expect(verdictKind(stopped, { unhealthy: false })).toBe('operator_restart');
    const retried = readHistory([
      ev('start'),
      ev('die', { exitCode: '1' }, 'c1', 1000),
      ev('start'),
      ev('die', { exitCode: '0' }, 'c1', 1000),
    ]).deaths;
    expect(verdictKind(retried, { unhealthy: false })).toBe('clean_exit');
    expect(verdictKind(retried, { unhealthy: false, paused: true })).toBe('paused');
    expect(verdictKind(retried, { unhealthy: false, removed: true })).toBe('removed');
  });

  it('oom events with no death are processes killed inside a container that kept running', () => {
    const h = readHistory([ev('start'), ev('oom', {}, 'c1', 3000), ev('oom', {}, 'c1', 3000)]);
    expect(h.deaths).toEqual([]);
    expect(h.processOomKills).toHaveLength(2);
    expect(verdictKind(h.deaths, { unhealthy: false })).toBe('no_restarts');
  });

  it('a child OOM-killed and the main process exiting 1 by itself is an application error, with the kill counted inside', () => {
    const h = readHistory([ev('start'), ev('oom', {}, 'c1', 1000), ev('die', { exitCode: '1' }, 'c1', 50)]);
    expect(h.deaths).toMatchObject([{ cause: 'app_error', processOomKills: 1 }]);
    expect(h.processOomKills).toHaveLength(1);
  });

  it('a kill with no stop after it is a signal from outside', () => {
    expect(readHistory([ev('kill', { signal: '9' }), ev('die', { exitCode: '137' })]).deaths).toMatchObject([
      { cause: 'signal', signal: 'SIGKILL' },
    ]);
  });

  it('die 137 with neither an oom nor an API kill event is a SIGKILL from outside, not an app error', () => {
    expect(causes([ev('start'), ev('die', { exitCode: '137' })])).toEqual(['signal']);
  });

  it('die 1 alone is an application error; the latest failure decides the verdict', () => {
    const d = readHistory([
      ev('oom'),
      ev('die', { exitCode: '137' }),
      ev('start', {}, 'c1', 10_000),
      ev('die', { exitCode: '1' }, 'c1', 10_000),
    ]).deaths;
    expect(d.map((x) => x.cause)).toEqual(['oom', 'app_error']);
    expect(verdictKind(d, { unhealthy: false })).toBe('app_error');
    expect(d[1]!.runStartedAt).not.toBeNull();
  });

  it('events of other containers and far-away kills do not explain a death', () => {
    expect(
      causes([
        ev('oom', {}, 'c2'),
        ev('kill', { signal: '15' }, 'c1', 0),
        ev('die', { exitCode: '1' }, 'c1', 60_000),
      ]),
    ).toEqual(['app_error']);
  });

  it('quick clean exits again and again are a loop, not success; one clean exit is a clean exit', () => {
    const loop = readHistory(
      [1, 2, 3].flatMap(() => [ev('start', {}, 'c1', 2000), ev('die', { exitCode: '0' }, 'c1', 50)]),
    ).deaths;
    expect(verdictKind(loop, { unhealthy: false })).toBe('clean_exit_loop');
    const once = readHistory([ev('start'), ev('die', { exitCode: '0' }, 'c1', 120_000)]).deaths;
    expect(verdictKind(once, { unhealthy: false })).toBe('clean_exit');
    expect(verdictKind([], { unhealthy: false, cleanLoopState: true })).toBe('clean_exit_loop');
  });

  it('no deaths: never started, a broken probe, unhealthy, or nothing', () => {
    expect(verdictKind([], { unhealthy: false, neverStarted: true })).toBe('never_started');
    expect(verdictKind([], { unhealthy: true, brokenProbe: true })).toBe('broken_probe');
    expect(verdictKind([], { unhealthy: true })).toBe('unhealthy');
    expect(verdictKind([], { unhealthy: false })).toBe('no_restarts');
  });
});

describe('deathFromState: what the container itself proves when the events are gone', () => {
  const base = (
    over: Partial<ContainerState['state']> = {},
    restartCount = 5,
    policy = 'on-failure',
  ): ContainerState => ({
    id: 'orchestrator',
    name: 'p_orchestrator_1',
    createdAt: '2026-11-28T09:00:00Z',
    restartCount,
    restartPolicy: { name: policy },
    state: {
      status: 'exited',
      running: false,
      restarting: false,
      exitCode: 1,
      oomKilled: false,
      error: '',
      startedAt: '2026-11-28T09:59:59Z',
      finishedAt: '2026-11-28T10:00:00Z',
      ...over,
    },
  });

  it('an exited container: its exit code and OOMKilled tell the last death', () => {
    expect(deathFromState(base(), [], Date.parse('2026-11-28T09:00:00Z'))).toMatchObject({
      exitCode: 1,
      cause: 'app_error',
      source: 'state',
    });
    expect(deathFromState(base({ exitCode: 137, oomKilled: true }), [], 0)?.cause).toBe('oom');
    // OOMKilled with a clean exit is a flag left by a process killed inside, not an OOM death.
    expect(deathFromState(base({ exitCode: 0, oomKilled: true }), [], 0)?.cause).toBe('clean_exit');
  });

  it('exited under always / unless-stopped: the engine would have restarted it, so it was stopped by hand', () => {
    expect(deathFromState(base({ exitCode: 0 }, 0, 'unless-stopped'), [], 0)).toMatchObject({
      cause: 'operator',
    });
  });

  it('running with RestartCount 0 and a FinishedAt: restarted by an operator or API call, even with OOMKilled left over', () => {
    const d = deathFromState(
      base(
        { status: 'running', running: true, exitCode: 0, oomKilled: true, startedAt: '2026-11-28T10:00:02Z' },
        0,
      ),
      [],
      0,
    );
    expect(d).toMatchObject({ cause: 'operator', exitCode: null });
    expect(d?.note).toMatch(
      /restarted by an operator or API call at 2026-11-28T10:00:02Z \(RestartCount 0; the event is no longer kept\)/,
    );
    // It does not claim the previous run ended well: a crash then a manual start looks the same.
    expect(d?.note).toMatch(/whether by that restart or by a failure before it, the engine no longer says/);
    expect(d?.note).toMatch(/maybe its main process/);
  });

  it('running again after restarts by policy: the exit code is reset, so the cause is unknown (OOMKilled only hints)', () => {
    const running = { status: 'running', running: true, exitCode: 0 };
    expect(deathFromState(base(running, 3), [], 0)).toMatchObject({ cause: 'unknown', exitCode: null });
    const flagged = deathFromState(base({ ...running, oomKilled: true }, 3), [], 0);
    expect(flagged?.cause).toBe('unknown');
    expect(flagged?.note).toMatch(/OOMKilled=true says a process in it was OOM-killed/);
  });

  it('exit 137 with OOMKilled is probably an OOM kill, but stopped under always it was a stop by hand', () => {
    expect(deathFromState(base({ exitCode: 137, oomKilled: true }), [], 0)).toMatchObject({
      cause: 'oom',
      note: expect.stringMatching(/^probably OOM-killed/),
    });
    expect(deathFromState(base({ exitCode: 137, oomKilled: true }, 0, 'unless-stopped'), [], 0)?.cause).toBe(
      'operator',
    );
  });

  it('adds nothing when an event already shows that death, it is outside the window, or it never ran', () => {
    const known = readHistory([
      { ...ev('die', { exitCode: '1' }, 'orchestrator'), time: '2026-11-28T10:00:00.5Z' },
    ]).deaths as Death[];
    expect(deathFromState(base(), known, 0)).toBeNull();
    expect(deathFromState(base(), [], Date.parse('2026-11-28T11:00:00Z'))).toBeNull();
    expect(deathFromState(base({ startedAt: null, finishedAt: null, status: 'created' }), [], 0)).toBeNull();
  });

  it('minimumDeaths: RestartCount, plus the final death when the policy would not have restarted it', () => {
    expect(minimumDeaths({ ...base(), restartPolicy: { name: 'on-failure', maximumRetryCount: 5 } })).toBe(6);
    expect(minimumDeaths(base({ exitCode: 0 }, 0, 'no'))).toBe(1);
    // Stopped during the restart backoff: RestartCount already counts every death there was.
    expect(minimumDeaths(base({}, 5, 'always'))).toBe(5);
    expect(minimumDeaths(base({ status: 'restarting', running: true, restarting: true }, 3))).toBe(3);
    expect(minimumDeaths(base({ status: 'running', running: true }, 0))).toBe(0);
  });
});
