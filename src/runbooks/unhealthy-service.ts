import { logsUnavailableFindings, type RunbookLogs } from './logs.js';
import type { Finding, Runbook } from './types.js';

interface Health {
  services: Array<{
    service: string;
    status: string;
    problems: string[];
    containers: Array<{
      name: string;
      state: string;
      health: string | null;
      uptimeSeconds: number | null;
      lastHealthOutput: string | null;
      probe: { failure: 'broken' | 'refused' | 'failing'; program: string | null } | null;
    }>;
  }>;
}

export const unhealthyService: Runbook = {
  id: 'unhealthy-service',
  title: 'Unhealthy service',
  description:
    'A service reports unhealthy: what its health check says (and whether the probe itself can run), start period vs uptime, recent warnings.',
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
    // A container that is not running is not failing a check: Docker keeps its last health state,
    // but what matters is why it stopped (the service's problems: an OOM kill, an exit code).
    const down = s.containers.filter((c) => c.state !== 'running');
    const failing = s.containers.filter((c) => c.health === 'unhealthy' && c.state === 'running');
    const broken = failing.filter((c) => c.probe?.failure === 'broken');
    const findings: Finding[] = down.map((c) => ({
      severity: 'critical' as const,
      title: `${c.name} is ${c.state}, not running`,
      explanation: s.problems.length
        ? `it is not running, so its health check does not say why: ${s.problems.join('; ')}`
        : 'it is not running, so its health check does not say why',
      evidence: [`status ${s.status}`],
    }));
    findings.push(
      ...failing.map((c) =>
        c.probe?.failure === 'broken'
          ? {
              severity: 'critical' as const,
              title: `${c.name} health probe cannot run`,
              explanation: `the probe's command${c.probe.program ? ` "${c.probe.program}"` : ''} is not in the image (or not executable): ${c.lastHealthOutput ?? 'no output'}. Docker reports unhealthy whatever the app does; the app itself may be fine.`,
              evidence: [`status ${s.status}`, `up ${c.uptimeSeconds ?? '?'}s`, ...s.problems],
            }
          : {
              severity: 'critical' as const,
              title: `${c.name} health check failing`,
              explanation: c.lastHealthOutput
                ? `the check's last output: ${c.lastHealthOutput}${c.probe?.failure === 'refused' ? ' (connection refused: nothing listens there yet; a slow starter needs start_period in its healthcheck)' : ''}`
                : 'the check fails without output',
              evidence: [`status ${s.status}`, `up ${c.uptimeSeconds ?? '?'}s`, ...s.problems],
            },
      ),
    );
    if (failing.length === 0 && down.length === 0)
      findings.push({
        severity: 'info',
        title: `${service} is ${s.status}`,
        explanation: 'no replica is unhealthy now',
        evidence: s.problems,
      });
    const actions = broken.length
      ? [
          `fix the healthcheck test of ${service} in the Compose file: use a program the image has (busybox images: wget -qO-), or the app's own health command`,
          'restarting will not help: the probe fails the same way',
        ]
      : [
          ...(down.length
            ? [
                `see why it stopped: explain_restarts ${service} (doom-ops why ${service}), and diagnose_oom if it was OOM-killed`,
              ]
            : []),
          ...(failing.length ? [`read the failing check's output above`] : []),
          ...(down.length || failing.length
            ? [`restart_service ${service} only once the cause is fixed`]
            : []),
        ];
    const logs = (await call('service_logs', { service, level: 'warn', tail: 10 })) as unknown as RunbookLogs;
    return [
      { tool: 'stack_health', findings, actions },
      {
        tool: 'service_logs',
        findings: [
          ...(logs.lines.length
            ? [
                {
                  severity: 'info' as const,
                  title: 'recent warnings and errors',
                  explanation: `${logs.lines.length} line(s) at warn or above`,
                  evidence: logs.lines.map((l) => l.text),
                },
              ]
            : []),
          ...logsUnavailableFindings(logs),
        ],
        actions: [],
      },
    ];
  },
};
