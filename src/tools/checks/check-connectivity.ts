import { z } from 'zod';
import { connectFrom, type ProbeResult, resolveFrom } from '../../adapters/docker/probes.js';
import { ToolError } from '../../errors.js';
import { redact } from '../../safety/redact.js';
import { defineTool } from '../define-tool.js';
import { hostField, portField, serviceField } from '../lib/fields.js';
import { projectSecrets } from '../lib/secrets.js';
import { containersOf, stackReplicas } from '../lib/stack.js';

const STEPS = [
  'source_running',
  'target_known',
  'shared_network',
  'name_resolves',
  'port_reachable',
] as const;

const step = z.object({
  step: z.enum(STEPS),
  status: z.enum(['ok', 'failed', 'skipped', 'unknown']),
  detail: z.string(),
});

export const checkConnectivity = defineTool({
  name: 'check_connectivity',
  title: 'Check connectivity between services',
  description:
    'Tests, from inside a running container of `from`, whether it can reach `to` (a service of the stack or any host ' +
    'name): is the source running, is the target a service, do they share a network, does the name resolve there, ' +
    "does the TCP port accept connections (default: the target's first exposed port). Returns each step and the " +
    'first one that fails. Used by the network-connectivity runbook.',
  summary:
    'Use when one service cannot reach another. Tests from inside the source container (network, name ' +
    'resolution, TCP port) and returns each step and the first that fails.',
  risk: 'read',
  idempotent: true,
  input: z.object({
    from: serviceField.describe('Service whose container makes the connection, e.g. orchestrator'),
    to: hostField.describe('Service or host name to reach, e.g. mongodb'),
    port: portField.optional().describe("TCP port (default: the target's exposed port)"),
  }),
  output: z.object({
    from: z.string(),
    to: z.string(),
    port: z.number().nullable(),
    container: z.string().nullable(),
    steps: z.array(step),
    reachable: z.boolean(),
    failedStep: z.enum(STEPS).nullable(),
  }),
  async run(ctx, input) {
    const all = await stackReplicas(ctx);
    const sources = containersOf(ctx, all, input.from);
    const source = sources.find((c) => c.state === 'running');
    const steps: Array<z.output<typeof step>> = [];
    const done = (port: number | null) => {
      const failed = steps.find((s) => s.status === 'failed');
      return {
        from: input.from,
        to: input.to,
        port,
        container: source?.name ?? null,
        steps,
        reachable: !failed && steps.every((s) => s.status === 'ok' || s.status === 'skipped'),
        failedStep: failed?.step ?? null,
      };
    };
    if (!source) {
      steps.push({
        step: 'source_running',
        status: 'failed',
        detail: `no running container of ${input.from} (${sources.map((c) => `${c.name} ${c.state}`).join(', ')})`,
      });
      return done(input.port ?? null);
    }
    steps.push({ step: 'source_running', status: 'ok', detail: `${source.name} is running` });

    const targets = all.filter((c) => c.service === input.to);
    const [src, ...tgt] = await ctx.docker.inspectMany([source.id, ...targets.map((c) => c.id)], ctx.signal);
    if (!src) throw new ToolError('not_found', `container ${source.name} disappeared`);
    const tcpExposed = tgt.flatMap((t) => t.exposedPorts).find((p) => p.endsWith('/tcp'));
    const port = input.port ?? (tcpExposed ? Number.parseInt(tcpExposed, 10) : null);
    const srcNets = src.networks.map((n) => n.name);
    if (tgt.length === 0) {
      steps.push({
        step: 'target_known',
        status: 'unknown',
        detail: `"${input.to}" is not a service of ${ctx.project} (services: ${[...new Set(all.map((c) => c.service))].sort().join(', ')}); testing it as a host name`,
      });
      steps.push({ step: 'shared_network', status: 'skipped', detail: 'not a service of the stack' });
    } else {
      steps.push({ step: 'target_known', status: 'ok', detail: `${tgt.map((t) => t.name).join(', ')}` });
      const shared = [...new Set(tgt.flatMap((t) => t.networks.map((n) => n.name)))].filter((n) =>
        srcNets.includes(n),
      );
      steps.push(
        shared.length
          ? { step: 'shared_network', status: 'ok', detail: `both on ${shared.join(', ')}` }
          : {
              step: 'shared_network',
              status: 'failed',
              detail: `${input.from} is on ${srcNets.join(', ') || 'no network'}; ${input.to} is on ${[...new Set(tgt.flatMap((t) => t.networks.map((n) => n.name)))].join(', ') || 'no network'}: no network in common`,
            },
      );
    }

    // Every secret of the project: the probe may print the target's credentials, not only the source's.
    const secrets = await projectSecrets(ctx, [src, ...tgt]);
    const probe = (p: ProbeResult): string =>
      redact(`${p.command}: ${p.output || `exit ${p.status}`}`, secrets);
    const resolved = await resolveFrom(ctx.docker, src.id, input.to, ctx.signal);
    steps.push({ step: 'name_resolves', status: resolved.status, detail: probe(resolved) });
    if (port === null) {
      steps.push({
        step: 'port_reachable',
        status: 'skipped',
        detail: 'no port given and the target exposes none',
      });
    } else if (resolved.status === 'failed') {
      steps.push({ step: 'port_reachable', status: 'skipped', detail: `${input.to} does not resolve` });
    } else {
      const conn = await connectFrom(ctx.docker, src.id, input.to, port, ctx.signal);
      steps.push({ step: 'port_reachable', status: conn.status, detail: probe(conn) });
    }
    return done(port);
  },
});
