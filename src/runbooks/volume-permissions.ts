import type { z } from 'zod';
import type { checkVolumePermissions } from '../tools/checks/check-volume-permissions.js';
import { logsUnavailableFindings, type RunbookLogs } from './logs.js';
import type { Finding, Runbook } from './types.js';

type Perms = z.output<typeof checkVolumePermissions.output>;

const DENIED = /permission denied|read-only file system|operation not permitted|EACCES|EROFS/i;

export const volumePermissions: Runbook = {
  id: 'volume-permissions',
  title: 'Volume permissions',
  description:
    'A service fails with "permission denied" on its data directory: owner and mode of each mount vs the user the container runs as.',
  needsService: true,
  async run(call, service) {
    const r = (await call('check_volume_permissions', { service })) as Perms;
    const findings: Finding[] = r.mounts
      .filter((m) => m.rw && m.writable !== true)
      .map((m) => ({
        severity: m.writable === false ? ('critical' as const) : ('warning' as const),
        title: `${m.container} ${m.writable === false ? 'cannot write to' : 'may not be able to write to'} ${m.destination}`,
        explanation: m.reason,
        evidence: [
          `${m.type} ${m.volume ?? m.source} mounted at ${m.destination} (${m.rw ? 'rw' : 'ro'})`,
          m.owner ? `owner ${m.owner.uid}:${m.owner.gid}, mode ${m.owner.mode}` : 'owner unknown',
          `runs as ${m.user.spec} (uid ${m.user.uid ?? '?'}, gid ${m.user.gid ?? '?'})`,
        ],
      }));
    const actions = r.mounts
      .filter((m) => m.rw && m.writable === false)
      .map((m) =>
        m.type === 'bind'
          ? `on the host: sudo chown -R ${m.user.uid}:${m.user.gid ?? m.user.uid} ${m.source}`
          : `docker run --rm -v ${m.volume}:/data <image> chown -R ${m.user.uid}:${m.user.gid ?? m.user.uid} /data (or run ${service} as the owner, uid ${m.owner?.uid})`,
      );
    const logs = (await call('service_logs', { service, tail: 50 })) as unknown as RunbookLogs;
    const denied = logs.lines.filter((l) => DENIED.test(l.text)).slice(-5);
    // A read-only mount is a finding of its own: anything writing there, or changing its owner, fails.
    for (const m of r.mounts.filter((x) => !x.rw)) {
      const hit = denied.filter(
        (l) => /read-only file system|EROFS/i.test(l.text) && l.text.includes(m.destination),
      );
      findings.unshift({
        severity: hit.length ? 'critical' : 'warning',
        title: `${m.container} has ${m.destination} mounted read-only (:ro)`,
        explanation: hit.length
          ? `the service tried to write or chown there and failed with "Read-only file system"`
          : 'anything that writes there or changes its owner (a chown in the entrypoint) fails with "Read-only file system"',
        evidence: [
          `${m.type} ${m.volume ?? m.source} mounted at ${m.destination} (ro)`,
          ...hit.map((l) => l.text),
        ],
      });
      actions.push(
        `if ${service} must write to ${m.destination} (or chown it), drop :ro from that mount; otherwise stop the entrypoint from changing it`,
      );
    }
    for (const name of r.readOnlyRootfs) {
      const onMount = (line: string) =>
        r.mounts.some((m) => m.container === name && m.rw && line.includes(m.destination));
      const hit = denied.filter((l) => /read-only file system|EROFS/i.test(l.text) && !onMount(l.text));
      findings.unshift({
        severity: hit.length ? 'critical' : 'warning',
        title: `${name} has a read-only root filesystem (read_only: true)`,
        explanation: hit.length
          ? 'it tried to write outside its volumes and tmpfs mounts and failed with "Read-only file system"'
          : 'only its volumes and tmpfs mounts are writable; anything it writes elsewhere fails with "Read-only file system"',
        evidence: hit.map((l) => l.text),
      });
      actions.push(
        `give ${service} a volume or tmpfs (tmpfs: [/path]) for every path it writes, or drop read_only: true`,
      );
    }
    if (findings.length === 0)
      findings.push({
        severity: 'info',
        title: `${service} can write to all its writable mounts`,
        explanation: `${r.mounts.length} mount(s) checked`,
        evidence: r.mounts.map((m) => `${m.destination}: ${m.reason}`),
      });
    return [
      { tool: 'check_volume_permissions', findings, actions },
      {
        tool: 'service_logs',
        findings: [
          ...(denied.length
            ? [
                {
                  severity: 'info' as const,
                  title: 'permission errors in the logs',
                  explanation: `${denied.length} recent line(s) mention denied access`,
                  evidence: denied.map((l) => l.text),
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
