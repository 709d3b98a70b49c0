import type { Incident } from './incident-store.js';

/** Where incidents are told (Slack in `doom-ops serve`); the watcher rate-limits the calls. */
export interface IncidentNotifier {
  /** Posts the incident's message; returns where, so later changes edit it. */
  post(incident: Incident): Promise<{ channel: string; ts: string }>;
  /** Edits the incident's message to its current state. */
  update(incident: Incident): Promise<void>;
  /** Says it recovered in the message's thread (and edits the message). */
  recovered(incident: Incident): Promise<void>;
}

/** Slack API calls each notification takes (the rate limit counts calls). */
export const CALLS = { post: 1, update: 1, recovered: 2 } as const;

const SEVERITY = ['oom', 'gave_up', 'restart_loop', 'missing', 'unhealthy', 'disk'] as const;

/** The most severe kind first: it names the incident. */
export function headlineKind(incident: Pick<Incident, 'kinds'>): Incident['kinds'][number] {
  return SEVERITY.find((k) => incident.kinds.includes(k)) ?? incident.kinds[0] ?? 'unhealthy';
}

/** Which runbook answers an incident, for the runbook button. */
export function runbookFor(incident: Pick<Incident, 'kinds'>): string {
  switch (headlineKind(incident)) {
    case 'oom':
      return 'oom-kill';
    case 'gave_up':
    case 'restart_loop':
      return 'restart-loop';
    case 'missing':
      return 'dependency-order';
    case 'disk':
      return 'disk-usage';
    default:
      return 'unhealthy-service';
  }
}
