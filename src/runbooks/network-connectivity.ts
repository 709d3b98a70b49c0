import type { z } from 'zod';
import type { checkConnectivity } from '../tools/checks/check-connectivity.js';
import type { checkDependencies } from '../tools/checks/check-dependencies.js';
import type { Finding, Runbook, StepResult } from './types.js';

type Conn = z.output<typeof checkConnectivity.output>;
type Deps = z.output<typeof checkDependencies.output>;

const ADVICE: Record<string, (c: Conn) => string> = {
  source_running: (c) => `start ${c.from} first (restart_service ${c.from}), then test again`,
  shared_network: (c) =>
    `put ${c.from} and ${c.to} on the same network in docker-compose.yml (networks: [clau-doom-net] on both), then recreate them`,
  name_resolves: (c) =>
    `"${c.to}" does not resolve from ${c.from}: use the Compose service name (list_runbooks / stack_health show them), ` +
    'or add a network alias; container names of other projects do not resolve',
  port_reachable: (c) =>
    `${c.to} resolves but port ${c.port} refuses connections: check that ${c.to} listens on ${c.port} on all interfaces (0.0.0.0, not 127.0.0.1) and is healthy`,
};

export const networkConnectivity: Runbook = {
  id: 'network-connectivity',
  title: 'Network connectivity',
  description:
    'A service cannot reach another: tested from inside its container, step by step (running, shared network, DNS, TCP port). ' +
    'Give target (and port), or it tests every dependency of the service.',
  needsService: true,
  async run(call, service, options) {
    let targets: Array<{ to: string; port?: number }>;
    if (options.target) targets = [{ to: options.target, port: options.port }];
    else {
      const deps = (await call('check_dependencies', { service })) as Deps;
      targets = (deps.services.find((s) => s.service === service)?.dependsOn ?? []).map((d) => ({
        to: d.service,
      }));
      if (targets.length === 0)
        return [
          {
            tool: 'check_dependencies',
            findings: [
              {
                severity: 'info',
                title: `${service} has no dependencies to test`,
                explanation: 'give a target (service or host name) to test a connection',
                evidence: [],
              },
            ],
            actions: [],
          },
        ];
    }
    const results: StepResult[] = [];
    for (const t of targets) {
      const c = (await call('check_connectivity', {
        from: service,
        to: t.to,
        ...(t.port ? { port: t.port } : {}),
      })) as Conn;
      const evidence = c.steps.map((s) => `${s.step}: ${s.status} - ${s.detail}`);
      const finding: Finding = c.failedStep
        ? {
            severity: 'critical',
            title: `${service} cannot reach ${c.to}${c.port ? `:${c.port}` : ''}: ${c.failedStep} fails`,
            explanation: c.steps.find((s) => s.step === c.failedStep)!.detail,
            evidence,
          }
        : c.reachable
          ? {
              severity: 'info',
              title: `${service} reaches ${c.to}${c.port ? `:${c.port}` : ''}`,
              explanation: 'every step passed from inside the container',
              evidence,
            }
          : {
              severity: 'warning',
              title: `${service} -> ${c.to}: could not test every step`,
              explanation: 'the container lacks the tools for some checks (getent/nslookup, nc)',
              evidence,
            };
      results.push({
        tool: 'check_connectivity',
        findings: [finding],
        actions: c.failedStep ? [ADVICE[c.failedStep]?.(c) ?? `fix ${c.failedStep}`] : [],
      });
    }
    return results;
  },
};
