import type { Runbook } from './types.js';

interface Oom {
  summary: string;
  services: Array<{
    service: string;
    oomKills: number;
    processOomKills: number;
    oomKilledFlag: boolean;
    previousContainerOomKills: number;
    evidence: string;
    reasoning: string;
    whereToSet: string;
    suggestedLimit: string | null;
    policyExhausted: boolean;
  }>;
}

export const oomKill: Runbook = {
  id: 'oom-kill',
  title: 'OOM kills',
  description:
    'Containers exit with 137 or OOMKilled is true: compare limits with peaks and size the new limit.',
  needsService: false,
  async run(call, service) {
    const o = (await call('diagnose_oom', service ? { service } : {})) as unknown as Oom;
    if (o.services.length === 0)
      return [
        {
          tool: 'diagnose_oom',
          findings: [{ severity: 'info', title: 'no OOM kills', explanation: o.summary, evidence: [] }],
          actions: [],
        },
      ];
    return [
      {
        tool: 'diagnose_oom',
        findings: o.services.map((s) => ({
          severity: s.policyExhausted
            ? ('critical' as const)
            : s.suggestedLimit === null && s.previousContainerOomKills
              ? ('info' as const)
              : ('warning' as const),
          title: s.oomKills
            ? `${s.service} OOM-killed ${s.oomKills} time(s)${s.processOomKills ? `, and ${s.processOomKills} process(es) inside` : ''}`
            : s.processOomKills
              ? `${s.service}: ${s.processOomKills} process(es) OOM-killed inside`
              : s.oomKilledFlag
                ? `${s.service}: at least 1 OOM kill (OOMKilled=true; the events no longer say of which process)`
                : `${s.service}: OOM kills only in a previous container (recreated since)`,
          explanation: s.reasoning,
          evidence: [`suggested limit ${s.suggestedLimit ?? 'set one'}`, s.evidence],
        })),
        actions: o.services
          .filter((s) => s.suggestedLimit !== null || s.oomKills + s.processOomKills > 0)
          .map((s) => `set ${s.suggestedLimit ?? 'a memory limit'} in ${s.whereToSet}`),
      },
    ];
  },
};
