/**
 * The diagnosis answers on real failures (OOM loops, app errors, operator restarts, unhealthy
 * checks, never-started containers…) are graded in the scenario suite (test/scenarios/,
 * scenarios.test.ts). These check how the diagnosis commands refuse what they cannot answer.
 */
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { uniqueProject } from '../helpers/stack.js';

describe('diagnosis commands on input they cannot answer', () => {
  const project = uniqueProject('dodiag');

  it('unknown service: a clear not-found answer (exit 2), not an empty one', async () => {
    const r = await cli(['why', 'nosuchservice', '--project', project]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no container and no engine events for service "nosuchservice"/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('a runbook that needs a service says so', async () => {
    const r = await cli(['runbook', 'restart-loop', '--project', project]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/service: required by runbook restart-loop/);
  });

  it('oom on a stack without OOM kills says so plainly', async () => {
    const r = await cli(['oom', '--json', '--project', project]);
    expect(r.exitCode).toBe(0);
    expect(r.json<{ services: unknown[]; summary: string }>()).toMatchObject({
      services: [],
      summary: expect.stringMatching(/^no OOM kills in the stack since /),
    });
  });
});
