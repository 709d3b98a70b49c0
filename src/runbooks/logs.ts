import type { Finding } from './types.js';

/** The part of service_logs' output runbooks read. */
export interface RunbookLogs {
  lines: Array<{ text: string }>;
  unavailable?: Array<{ container: string; reason: string }>;
}

/** A finding saying the logs could not be read and why, so a runbook's silence is not mistaken for "no errors". */
export function logsUnavailableFindings(logs: RunbookLogs): Finding[] {
  const u = logs.unavailable ?? [];
  if (u.length === 0) return [];
  return [
    {
      severity: 'info',
      title: `logs unavailable: ${[...new Set(u.map((x) => x.reason))].join('; ')}`,
      explanation:
        'this step looks at the logs, and the engine cannot read them back; the other evidence stands. To read logs through Docker, use the json-file or local logging driver (with rotation).',
      evidence: u.map((x) => `${x.container}: ${x.reason}`),
    },
  ];
}
