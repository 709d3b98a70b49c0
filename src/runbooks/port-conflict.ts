import type { z } from 'zod';
import type { checkPorts } from '../tools/checks/check-ports.js';
import type { Finding, Runbook } from './types.js';

type Ports = z.output<typeof checkPorts.output>;

export const portConflict: Runbook = {
  id: 'port-conflict',
  title: 'Port conflict',
  description:
    'A container will not start with "port is already allocated" or "address already in use": who holds the port and how to remap it.',
  needsService: false,
  async run(call, service) {
    const r = (await call('check_ports', service ? { service } : {})) as Ports;
    const conflicts = r.ports.filter((p) => p.status === 'conflict');
    const findings: Finding[] = conflicts.map((p) => {
      const holders = p.holders.map((h) =>
        h.kind === 'container'
          ? `container ${h.name}${h.project ? ` (project ${h.project}, service ${h.service})` : ''} publishes ${h.address}`
          : `host process ${h.pid ?? '?'} "${h.name}" listens on ${h.address}`,
      );
      return {
        severity: 'critical',
        title: `${p.container} cannot publish ${p.hostIp}:${p.requestedHostPort || p.hostPort}`,
        explanation: holders.length
          ? `the port is held by ${holders.join('; ')}`
          : 'the engine refused the port, but nothing holds it now (it may have been freed since): start the service again',
        evidence: [
          `${p.service} wants ${p.hostIp}:${p.requestedHostPort || p.hostPort} -> ${p.containerPort}; container is ${p.state}`,
          ...(p.engineError ? [`engine: ${p.engineError}`] : []),
          ...holders,
        ],
      };
    });
    const actions = conflicts.flatMap((p) => [
      p.holders.some((h) => h.kind === 'container')
        ? `stop the container holding ${p.hostPort}, or remap ${p.service}`
        : `stop the host process holding ${p.hostPort}, or remap ${p.service}`,
      `remap in docker-compose.yml: ports: ["${p.hostIp}:${p.suggestedHostPort ?? '<free port>'}:${p.containerPort.replace(/\/tcp$/, '')}"]`,
      `then start ${p.service} again`,
    ]);
    if (findings.length === 0) {
      const published = r.ports.filter((p) => p.status === 'published').length;
      const waiting = r.ports.length - published;
      findings.push({
        severity: 'info',
        title: 'no port conflicts',
        explanation: `${published} published port binding(s), none held by anything else${waiting ? `; ${waiting} not published (container not running)` : ''}`,
        evidence: r.ports.map((p) => `${p.container} ${binding(p)} ${p.status}`),
      });
    }
    return [{ tool: 'check_ports', findings, actions }];
  },
};

/** "127.0.0.1:49153 -> 8080/tcp (ephemeral)", "0.0.0.0:40001 -> 80/tcp (range 40000-40009)". */
function binding(p: Ports['ports'][number]): string {
  const host = p.hostPort ? `${p.hostIp}:${p.hostPort}` : `${p.hostIp}:<engine picks at start>`;
  const how =
    p.requestedHostPort === ''
      ? ' (ephemeral)'
      : p.requestedHostPort.includes('-')
        ? ` (range ${p.requestedHostPort})`
        : '';
  return `${host} -> ${p.containerPort}${how}`;
}
