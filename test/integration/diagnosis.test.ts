import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliOk } from '../helpers/cli.js';
import {
  containerOf,
  docker,
  orchestratorExhausted,
  type TestStack,
  upStack,
  waitFor,
} from '../helpers/stack.js';

interface Why {
  verdict: {
    kind: string;
    policyExhausted: boolean;
    serviceDown: boolean;
    summary: string;
    evidence: string[];
    nextSteps: string[];
  };
  deaths: Array<{ cause: string; exitCode: number | null; logBefore: string[] }>;
  containers: Array<{ lastHealthOutput: string | null }>;
}

let oomStack: TestStack;
let crashStack: TestStack;

const why = async (stack: TestStack, service: string) =>
  (await cliOk(['why', service, '--json', '--project', stack.project])).json<Why>();

beforeAll(async () => {
  [oomStack, crashStack] = await Promise.all([
    upStack({ services: ['orchestrator', 'vizdoom', 'dashboard'] }),
    upStack({ services: ['orchestrator'], env: { ORCHESTRATOR_MODE: 'crash' } }),
  ]);
  await Promise.all([orchestratorExhausted(oomStack.project), orchestratorExhausted(crashStack.project)]);
  await waitFor('vizdoom and dashboard healthy', async () => {
    const [v, d] = await Promise.all([
      containerOf(oomStack.project, 'vizdoom'),
      containerOf(oomStack.project, 'dashboard'),
    ]);
    return v.State.Health?.Status === 'healthy' && d.State.Health?.Status === 'healthy';
  });
});

afterAll(async () => {
  await Promise.all([oomStack?.down(), crashStack?.down()]);
});

describe('diagnose_oom', () => {
  it('finds the OOM loop, quotes the limit, and suggests a limit above the observed peak, saying where to set it', async () => {
    const r = await cliOk(['oom', '--json', '--project', oomStack.project]);
    const o = r.json<{
      services: Array<{
        service: string;
        oomKills: number;
        memoryLimitBytes: number;
        observedPeakBytes: number;
        suggestedLimitBytes: number;
        suggestedLimit: string;
        policyExhausted: boolean;
        whereToSet: string;
      }>;
    }>();
    expect(o.services.map((s) => s.service)).toEqual(['orchestrator']);
    const s = o.services[0]!;
    // The engine keeps only its last 256 events (health-check execs fill it), so older oom events may be gone.
    expect(s.oomKills).toBeGreaterThanOrEqual(1);
    expect(s.oomKills).toBeLessThanOrEqual(6);
    expect(s).toMatchObject({
      memoryLimitBytes: 32 * 1024 * 1024,
      policyExhausted: true,
      suggestedLimit: '64M',
    });
    expect(s.suggestedLimitBytes).toBeGreaterThan(s.observedPeakBytes);
    expect(s.whereToSet).toMatch(
      /services\.orchestrator\.deploy\.resources\.limits\.memory in docker-compose\.prod\.yml/,
    );
    const none = await cliOk(['oom', 'vizdoom', '--json', '--project', oomStack.project]);
    expect(none.json<{ services: unknown[]; summary: string }>()).toMatchObject({
      services: [],
      summary: expect.stringMatching(/no OOM kills in vizdoom/),
    });
  });
});

describe('explain_restarts on real scenarios', () => {
  it('OOM-killed in a loop until on-failure:5 gave up: OOM + policy exhausted + down, limit quoted', async () => {
    const w = await why(oomStack, 'orchestrator');
    expect(w.verdict).toMatchObject({ kind: 'oom_killed', policyExhausted: true, serviceDown: true });
    expect(w.verdict.summary).toMatch(/OOM killer at its memory limit of 32\.0MiB \([1-6] time/);
    // Up to 6 (first run + 5 restarts); fewer if the engine's 256-event memory already dropped some.
    expect(w.deaths.length).toBeGreaterThanOrEqual(1);
    // The newest death always has its oom event; an older one may have lost it to the engine's buffer.
    expect(w.deaths.at(-1)!.cause).toBe('oom');
    expect(w.deaths.every((d) => d.exitCode === 137)).toBe(true);
    expect(w.verdict.evidence.join('\n')).toMatch(/RestartCount=5, OOMKilled=true, ExitCode=137/);
    expect(w.deaths.at(-1)!.logBefore.join('\n')).toMatch(/loading replay buffer/);
    expect(w.verdict.nextSteps.join(' ')).toMatch(/deploy\.resources\.limits\.memory/);
  });

  it('a service exiting 1 after logging an error: application error, the error line quoted', async () => {
    const w = await why(crashStack, 'orchestrator');
    expect(w.verdict).toMatchObject({ kind: 'app_error', policyExhausted: true });
    expect(w.deaths.every((d) => d.cause === 'app_error' && d.exitCode === 1)).toBe(true);
    expect(w.verdict.summary).toMatch(/fatal: cannot open episode queue/);
  });

  it('no restarts yet: a clear "has not died or restarted" answer', async () => {
    const w = await why(oomStack, 'vizdoom');
    expect(w.verdict.kind).toBe('no_restarts');
    expect(w.verdict.summary).toMatch(/has not died or restarted/);
  });

  it('restarted with `docker restart` by an operator: operator restart, no failure', async () => {
    await docker.getContainer((await containerOf(oomStack.project, 'vizdoom')).Id).restart({ t: 2 });
    const w = await why(oomStack, 'vizdoom');
    expect(w.verdict.kind).toBe('operator_restart');
    expect(w.deaths.map((d) => d.cause)).toEqual(['operator']);
    expect(w.verdict.summary).toMatch(/no failure/);
  });

  it('a health check that starts failing: unhealthy with the check output', async () => {
    const d = await containerOf(oomStack.project, 'dashboard');
    await (
      await docker
        .getContainer(d.Id)
        .exec({ Cmd: ['sh', '-c', 'echo "next.js build missing" > /tmp/unhealthy'] })
    ).start({});
    await waitFor(
      'dashboard unhealthy',
      async () => (await containerOf(oomStack.project, 'dashboard')).State.Health?.Status === 'unhealthy',
      30_000,
    );
    const w = await why(oomStack, 'dashboard');
    expect(w.verdict.kind).toBe('unhealthy');
    expect(w.verdict.summary).toMatch(/next\.js build missing/);
  });

  it('runbooks: restart-loop concludes critical OOM, unhealthy-service quotes the failing check, all through read tools', async () => {
    const loop = (
      await cliOk(['runbook', 'restart-loop', 'orchestrator', '--json', '--project', oomStack.project])
    ).json<{
      steps: Array<{ tool: string; ok: boolean }>;
      findings: Array<{ severity: string; title: string }>;
      actions: string[];
    }>();
    expect(loop.steps).toEqual([{ tool: 'explain_restarts', ok: true, error: null }]);
    expect(loop.findings[0]).toMatchObject({ severity: 'critical', title: 'orchestrator: oom_killed' });
    expect(loop.actions.join(' ')).toMatch(/limits\.memory/);
    const sick = (
      await cliOk(['runbook', 'unhealthy-service', 'dashboard', '--json', '--project', oomStack.project])
    ).json<{ findings: Array<{ severity: string; explanation: string }> }>();
    expect(sick.findings[0]).toMatchObject({
      severity: 'critical',
      explanation: expect.stringMatching(/next\.js build missing/),
    });
    const oom = (await cliOk(['runbook', 'oom-kill', '--json', '--project', oomStack.project])).json<{
      findings: Array<{ title: string }>;
    }>();
    expect(oom.findings[0]!.title).toMatch(/^orchestrator OOM-killed/);
    const missing = await cli(['runbook', 'restart-loop', '--project', oomStack.project]);
    expect(missing.stderr).toMatch(/service: required by runbook restart-loop/);
  });

  it('unknown service: a clear not-found answer, not an empty one', async () => {
    const r = await cli(['why', 'nosuchservice', '--project', oomStack.project]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no container and no engine events for service "nosuchservice"/);
  });
});
