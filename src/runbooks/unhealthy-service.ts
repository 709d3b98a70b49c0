import type { Runbook } from './types.js';

interface Health {
  services: Array<{
    service: string;
    status: string;
    problems: string[];
    containers: Array<{
      name: string;
      health: string | null;
      uptimeSeconds: number | null;
      lastHealthOutput: string | null;
    }>;
  }>;
}
interface Logs {
  lines: Array<{ text: string }>;
}

export const unhealthyService: Runbook = {
  id: 'unhealthy-service',
  title: 'Unhealthy service',
  description:
    'A service reports unhealthy: what its health check says, start period vs uptime, recent warnings.',
  needsService: true,
  async run(call, service) {
    const h = (await call('stack_health', { service })) as unknown as Health;
    const s = h.services.find((x) => x.service === service);
    if (!s)
      return [
        {
          tool: 'stack_health',
          findings: [
            {
              severity: 'warning',
              title: `${service} not found`,
              explanation: 'no such service in the stack',
              evidence: [],
            },
          ],
          actions: [],
        },
      ];
    const failing = s.containers.filter((c) => c.health === 'unhealthy');
    const health = {
      tool: 'stack_health',
      findings: failing.length
        ? failing.map((c) => ({
            severity: 'critical' as const,
            title: `${c.name} health check failing`,
            explanation: c.lastHealthOutput
              ? `the check's last output: ${c.lastHealthOutput}`
              : 'the check fails without output',
            evidence: [`status ${s.status}`, `up ${c.uptimeSeconds ?? '?'}s`, ...s.problems],
          }))
        : [
            {
              severity: 'info' as const,
              title: `${service} is ${s.status}`,
              explanation: 'no replica is unhealthy now',
              evidence: s.problems,
            },
          ],
      actions: failing.length
        ? [`read the failing check's output above`, `restart_service ${service} only once the cause is fixed`]
        : [],
    };
    const logs = (await call('service_logs', { service, level: 'warn', tail: 10 })) as unknown as Logs;
    return [
      health,
      {
        tool: 'service_logs',
        findings: logs.lines.length
          ? [
              {
                severity: 'info',
                title: 'recent warnings and errors',
                explanation: `${logs.lines.length} line(s) at warn or above`,
                evidence: logs.lines.map((l) => l.text),
              },
            ]
          : [],
        actions: [],
      },
    ];
  },
};
