import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export const INCIDENT_KINDS = ['oom', 'restart_loop', 'gave_up', 'unhealthy', 'missing', 'disk'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** One problem of one service (or volume), from first signal to recovery: one Slack message. */
export interface Incident {
  id: string;
  /** service:<name> or disk:<volume>; one open incident per key. */
  key: string;
  service: string | null;
  /** Every kind seen while open; the headline uses the most severe. */
  kinds: IncidentKind[];
  title: string;
  verdict: string;
  evidence: string[];
  deaths: number;
  oomKills: number;
  openedAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  status: 'open' | 'resolved';
  /** Where it was posted (absent: not posted yet, muted, or no channel configured). */
  slack?: { channel: string; ts: string };
  mutedUntil?: string;
  mutedBy?: string;
}

interface StoreFile {
  incidents: Incident[];
}

const KEEP = 200;

/**
 * Incidents of one project, in <stateDir>/incidents/<project>.json. The watcher (one process per
 * stack, the one holding the recorder's lock) writes it; recent_incidents, the MCP resource and the
 * Slack mute button read or update it. Writes replace the file atomically.
 */
export class IncidentStore {
  readonly file: string;

  constructor(stateDir: string, project: string) {
    this.file = join(isAbsolute(stateDir) ? stateDir : resolve(stateDir), 'incidents', `${project}.json`);
  }

  list(): Incident[] {
    try {
      return (JSON.parse(readFileSync(this.file, 'utf8')) as StoreFile).incidents;
    } catch {
      return [];
    }
  }

  get(id: string): Incident | undefined {
    return this.list().find((i) => i.id === id);
  }

  openFor(key: string): Incident | undefined {
    return this.list().find((i) => i.key === key && i.status === 'open');
  }

  /**
   * Inserts or replaces by id, keeping the newest KEEP incidents. A mute stored meanwhile (the
   * Slack button, maybe in another process) survives a save made from an older copy.
   */
  save(incident: Incident): void {
    const stored = this.list();
    const prev = stored.find((i) => i.id === incident.id);
    const all = stored.filter((i) => i.id !== incident.id);
    if (prev?.mutedUntil && (!incident.mutedUntil || prev.mutedUntil > incident.mutedUntil))
      all.push({ ...incident, mutedUntil: prev.mutedUntil, mutedBy: prev.mutedBy });
    else all.push(incident);
    all.sort((a, b) => a.openedAt.localeCompare(b.openedAt));
    mkdirSync(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ incidents: all.slice(-KEEP) } satisfies StoreFile, null, 2));
    renameSync(tmp, this.file);
  }

  /** Mutes an incident until `untilMs`; returns it, or undefined when there is no such incident. */
  mute(id: string, untilMs: number, by: string): Incident | undefined {
    const found = this.get(id);
    if (!found) return undefined;
    const muted = { ...found, mutedUntil: new Date(untilMs).toISOString(), mutedBy: by };
    this.save(muted);
    return muted;
  }
}

export function isMuted(incident: Incident, now = Date.now()): boolean {
  return Boolean(incident.mutedUntil && Date.parse(incident.mutedUntil) > now);
}
