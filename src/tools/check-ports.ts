import { z } from 'zod';
import { listPublishers, type Publisher } from '../adapters/docker/publishers.js';
import { type HostListener, hostListeners } from '../adapters/host/listeners.js';
import { redact } from '../safety/redact.js';
import { defineTool } from './define-tool.js';
import { serviceField } from './lib/fields.js';
import { containersOf, stackReplicas } from './lib/stack.js';

const CONFLICT = /port is already allocated|address already in use/i;
const ANY = new Set(['0.0.0.0', '::', '']);

function overlaps(a: string, b: string): boolean {
  return a === b || ANY.has(a) || ANY.has(b);
}

const holder = z.object({
  kind: z.enum(['container', 'process']),
  name: z.string().describe('container name, or the host command line'),
  project: z.string().nullable(),
  service: z.string().nullable(),
  pid: z.number().nullable(),
  address: z.string(),
});

export const checkPorts = defineTool({
  name: 'check_ports',
  title: 'Check published ports',
  description:
    "For each host port the stack's containers publish (or try to): whether it is published, and when a container " +
    'cannot get its port, who holds it: another container on the engine (any project) or a process on the host ' +
    '(pid and command, as `netstat -tlnp` shows when run as root). Suggests a free port to remap to. Used by the ' +
    'port-conflict runbook.',
  risk: 'read',
  idempotent: true,
  input: z.object({
    service: serviceField.optional().describe('Only this service (default: the whole stack)'),
  }),
  output: z.object({
    ports: z.array(
      z.object({
        service: z.string(),
        container: z.string(),
        state: z.string(),
        containerPort: z.string(),
        hostIp: z.string(),
        hostPort: z.number(),
        status: z.enum(['published', 'conflict', 'not_published']),
        holders: z.array(holder),
        engineError: z.string().nullable(),
        suggestedHostPort: z.number().nullable(),
      }),
    ),
    conflicts: z.number(),
  }),
  async run(ctx, input) {
    const all = await stackReplicas(ctx);
    const mine = input.service ? containersOf(ctx, all, input.service) : all;
    const [details, publishers] = await Promise.all([
      ctx.docker.inspectMany(
        mine.map((c) => c.id),
        ctx.signal,
      ),
      listPublishers(ctx.docker, ctx.signal),
    ]);
    const listenersByPort = new Map<number, Promise<HostListener[]>>();
    const listeners = (port: number) => {
      if (!listenersByPort.has(port)) listenersByPort.set(port, hostListeners(port));
      return listenersByPort.get(port)!;
    };
    const ports = [];
    for (const d of details) {
      for (const b of d.portBindings) {
        const published =
          d.state.running &&
          d.publishedPorts.some((p) => p.hostPort === b.hostPort && p.containerPort === b.containerPort);
        if (published) {
          ports.push({
            service: d.service ?? '',
            container: d.name,
            state: d.state.status,
            ...b,
            status: 'published' as const,
            holders: [],
            engineError: null,
            suggestedHostPort: null,
          });
          continue;
        }
        const holders = await findHolders(b.hostIp, b.hostPort, d.id, publishers, listeners);
        const conflict = holders.length > 0 || CONFLICT.test(d.state.error);
        ports.push({
          service: d.service ?? '',
          container: d.name,
          state: d.state.status,
          ...b,
          status: conflict ? ('conflict' as const) : ('not_published' as const),
          holders,
          engineError: d.state.error ? redact(d.state.error, d.secretValues) : null,
          suggestedHostPort: conflict
            ? await freePortNear(b.hostPort, b.hostIp, publishers, listeners)
            : null,
        });
      }
    }
    return { ports, conflicts: ports.filter((p) => p.status === 'conflict').length };
  },
});

async function findHolders(
  hostIp: string,
  hostPort: number,
  self: string,
  publishers: Publisher[],
  listeners: (port: number) => Promise<HostListener[]>,
): Promise<Array<z.output<typeof holder>>> {
  const containers = publishers.filter(
    (p) => p.id !== self && p.hostPort === hostPort && overlaps(p.hostIp, hostIp),
  );
  if (containers.length > 0)
    return containers.map((p) => ({
      kind: 'container' as const,
      name: p.name,
      project: p.project,
      service: p.service,
      pid: null,
      address: `${p.hostIp}:${p.hostPort}`,
    }));
  // A published port is held on the host by docker-proxy; only look at processes when no container has it.
  return (await listeners(hostPort))
    .filter((l) => overlaps(l.address, hostIp))
    .map((l) => ({
      kind: 'process' as const,
      name: l.command
        ? redact(l.command)
        : 'a process this user cannot see (run doom-ops as root to name it)',
      project: null,
      service: null,
      pid: l.pid,
      address: `${l.address}:${l.port}`,
    }));
}

async function freePortNear(
  port: number,
  hostIp: string,
  publishers: Publisher[],
  listeners: (port: number) => Promise<HostListener[]>,
): Promise<number | null> {
  for (let p = port + 1; p < Math.min(port + 50, 65536); p++) {
    if (publishers.some((x) => x.hostPort === p && overlaps(x.hostIp, hostIp))) continue;
    if ((await listeners(p)).some((l) => overlaps(l.address, hostIp))) continue;
    return p;
  }
  return null;
}
