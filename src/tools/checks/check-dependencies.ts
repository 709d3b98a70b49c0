import { z } from 'zod';
import { redact } from '../../safety/redact.js';
import { defineTool } from '../define-tool.js';
import { CONDITIONS, dependenciesOf, dependencyHolds } from '../lib/dependencies.js';
import { serviceField } from '../lib/fields.js';
import { projectSecrets } from '../lib/secrets.js';
import { containerHealth, SERVICE_STATUSES, serviceHealth } from '../lib/service-status.js';
import { stackReplicas } from '../lib/stack.js';

const status = z.enum(SERVICE_STATUSES);

export const checkDependencies = defineTool({
  name: 'check_dependencies',
  title: 'Check the startup dependency graph',
  description:
    "The stack's dependency graph (the handbook's startup DAG from config, or Compose v2's depends_on labels) with " +
    "each dependency's status and whether its condition (healthy, started) holds. For one service it walks the " +
    'graph down and names the root blockers: dependencies that are not ready although their own dependencies are. ' +
    'Used by the dependency-order runbook.',
  summary:
    'Use when a service waits on its dependencies or will not start. Returns the startup graph with each ' +
    "dependency's status and, for one service, the root blockers.",
  risk: 'read',
  idempotent: true,
  input: z.object({
    service: serviceField.optional().describe('Walk the graph from this service (default: all)'),
  }),
  output: z.object({
    service: z.string().nullable(),
    services: z.array(
      z.object({
        service: z.string(),
        status,
        dependsOn: z.array(
          z.object({ service: z.string(), condition: z.enum(CONDITIONS), status, satisfied: z.boolean() }),
        ),
      }),
    ),
    blockers: z.array(
      z.object({ service: z.string(), status, neededBy: z.array(z.string()), problems: z.array(z.string()) }),
    ),
    ready: z.boolean().describe('every dependency (of the service, or of all) is satisfied'),
  }),
  async run(ctx, input) {
    const now = Date.now();
    const details = await ctx.docker.inspectMany(
      (await stackReplicas(ctx)).map((c) => c.id),
      ctx.signal,
    );
    const secrets = await projectSecrets(ctx, details);
    const names = [...new Set([...Object.keys(ctx.config.services), ...details.map((d) => d.service ?? '')])]
      .filter(Boolean)
      .sort();
    const info = new Map(
      names.map((name) => {
        const expected = ctx.config.services[name];
        const mine = details.filter((d) => d.service === name);
        const h = serviceHealth(
          expected,
          mine.map((d) => containerHealth(d, expected?.startPeriod ?? 0, now)),
        );
        h.problems = h.problems.map((p) => redact(p, secrets));
        const deps = dependenciesOf(expected, mine);
        return [name, { h, deps }];
      }),
    );
    const statusOf = (name: string) => info.get(name)?.h.status ?? ('missing' as const);
    const services = names.map((name) => ({
      service: name,
      status: statusOf(name),
      dependsOn: info.get(name)!.deps.map(({ fromConfig: _, ...d }) => ({
        ...d,
        status: statusOf(d.service),
        satisfied: dependencyHolds(
          { ...d, fromConfig: _ },
          statusOf(d.service),
          details.filter((x) => x.service === d.service),
        ),
      })),
    }));
    const byName = new Map(services.map((s) => [s.service, s]));

    // Walk down from the service (or every service): a blocker is an unsatisfied dependency whose own are fine.
    const blockers = new Map<string, Set<string>>();
    const seen = new Set<string>();
    const walk = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const d of byName.get(name)?.dependsOn ?? []) {
        walk(d.service);
        const own = byName.get(d.service)?.dependsOn ?? [];
        if (!d.satisfied && own.every((x) => x.satisfied)) {
          if (!blockers.has(d.service)) blockers.set(d.service, new Set());
          blockers.get(d.service)!.add(name);
        }
      }
    };
    for (const name of input.service ? [input.service] : names) walk(name);
    const relevant = input.service ? services.filter((s) => seen.has(s.service)) : services;
    return {
      service: input.service ?? null,
      services: relevant,
      blockers: [...blockers].map(([service, neededBy]) => ({
        service,
        status: statusOf(service),
        neededBy: [...neededBy].sort(),
        problems: info.get(service)?.h.problems ?? ['not a service of the stack'],
      })),
      ready: relevant.every((s) => s.dependsOn.every((d) => d.satisfied)),
    };
  },
});
