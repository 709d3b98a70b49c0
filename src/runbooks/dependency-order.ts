import type { z } from 'zod';
import type { checkDependencies } from '../tools/checks/check-dependencies.js';
import type { Finding, Runbook } from './types.js';

type Deps = z.output<typeof checkDependencies.output>;

export const dependencyOrder: Runbook = {
  id: 'dependency-order',
  title: 'Dependency order',
  description:
    "A service waits or fails at startup: walk the handbook's startup DAG (infra -> data stores -> orchestrator -> agents, dashboard) and name the dependency that is not ready.",
  needsService: false,
  async run(call, service) {
    const d = (await call('check_dependencies', service ? { service } : {})) as Deps;
    const findings: Finding[] = d.blockers.map((b) => ({
      severity: 'critical',
      title: `${b.service} is ${b.status}, blocking ${b.neededBy.join(', ')}`,
      explanation: `${b.neededBy.join(', ')} depend${b.neededBy.length === 1 ? 's' : ''} on ${b.service}, whose own dependencies are ready: fix ${b.service} first`,
      evidence: b.problems.length ? b.problems : [`status ${b.status}`],
    }));
    const actions = d.blockers.map((b) =>
      b.status === 'unhealthy'
        ? `run_runbook unhealthy-service ${b.service}`
        : b.status === 'missing' || b.status === 'exited'
          ? `start ${b.service} (docker compose up -d ${b.service}) and wait for it to be healthy`
          : `run_runbook restart-loop ${b.service}`,
    );
    if (findings.length === 0)
      findings.push({
        severity: 'info',
        title: service ? `every dependency of ${service} is ready` : 'every dependency in the stack is ready',
        explanation: 'each depends_on condition holds',
        evidence: d.services.flatMap((s) =>
          s.dependsOn.map((x) => `${s.service} -> ${x.service} (${x.condition}): ${x.status}`),
        ),
      });
    return [{ tool: 'check_dependencies', findings, actions }];
  },
};
