import { z } from 'zod';
import { INCIDENT_KINDS, IncidentStore, isMuted } from '../../watch/incident-store.js';
import { defineTool } from '../define-tool.js';

export const recentIncidents = defineTool({
  name: 'recent_incidents',
  title: 'Recent incidents',
  description:
    'Incidents the watcher in `doom-ops serve` detected (OOM kills, restart loops, restart policies giving up, ' +
    'unhealthy or missing critical services, disks over threshold), newest first, with verdict, evidence, counts, ' +
    'whether they are open, resolved or muted. Check this before diagnosing: the watcher may already have the answer.',
  summary:
    'Check this before diagnosing: the watcher may already have the answer. Returns its incidents (OOM ' +
    'kills, restart loops, unhealthy services, disks over threshold) with evidence.',
  risk: 'read',
  // The incident store: the watcher keeps it for Swarm stacks too.
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    limit: z.number().int().min(1).max(200).default(20).describe('newest N incidents (default 20)'),
    open: z.boolean().default(false).describe('only incidents still open'),
  }),
  output: z.object({
    project: z.string(),
    incidents: z.array(
      z.object({
        id: z.string(),
        key: z.string(),
        service: z.string().nullable(),
        kinds: z.array(z.enum(INCIDENT_KINDS)),
        title: z.string(),
        verdict: z.string(),
        evidence: z.array(z.string()),
        deaths: z.number(),
        oomKills: z.number(),
        status: z.enum(['open', 'resolved']),
        muted: z.boolean(),
        openedAt: z.string(),
        updatedAt: z.string(),
        resolvedAt: z.string().nullable(),
      }),
    ),
  }),
  async run(ctx, input) {
    const store = new IncidentStore(ctx.config.stateDir, ctx.project);
    const now = Date.now();
    const list = store
      .list()
      .filter((i) => !input.open || i.status === 'open')
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, input.limit);
    return {
      project: ctx.project,
      incidents: list.map((i) => ({
        id: i.id,
        key: i.key,
        service: i.service,
        kinds: i.kinds,
        title: i.title,
        verdict: i.verdict,
        evidence: i.evidence,
        deaths: i.deaths,
        oomKills: i.oomKills,
        status: i.status,
        muted: isMuted(i, now),
        openedAt: i.openedAt,
        updatedAt: i.updatedAt,
        resolvedAt: i.resolvedAt,
      })),
    };
  },
});
