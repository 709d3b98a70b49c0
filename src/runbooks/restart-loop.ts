import type { Runbook } from './types.js';

interface Why {
  verdict: {
    kind: string;
    summary: string;
    evidence: string[];
    nextSteps: string[];
    policyExhausted: boolean;
    serviceDown: boolean;
  };
}

export const restartLoop: Runbook = {
  id: 'restart-loop',
  title: 'Restart loop',
  description:
    'A service keeps restarting or is in "restarting" state: find out from Docker\'s records why it dies.',
  needsService: true,
  async run(call, service) {
    const w = (await call('explain_restarts', { service })) as unknown as Why;
    const v = w.verdict;
    // Down because of a failure is critical; down on purpose (a stop by hand, a job that completed) is not.
    const intended = v.kind === 'no_restarts' || v.kind === 'operator_restart' || v.kind === 'clean_exit';
    const severity =
      v.policyExhausted || (v.serviceDown && !intended && v.kind !== 'paused')
        ? 'critical'
        : intended
          ? 'info'
          : 'warning';
    return [
      {
        tool: 'explain_restarts',
        findings: [
          { severity, title: `${service}: ${v.kind}`, explanation: v.summary, evidence: v.evidence },
        ],
        actions: v.nextSteps,
      },
    ];
  },
};
