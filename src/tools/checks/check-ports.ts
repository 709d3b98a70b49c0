import { z } from 'zod';
import { listPublishers, type Publisher } from '../../adapters/docker/publishers.js';
import { type HostListener, hostListeners } from '../../adapters/host/listeners.js';
import { redact } from '../../safety/redact.js';
import { defineTool } from '../define-tool.js';
import { serviceField } from '../lib/fields.js';
import { projectSecrets } from '../lib/secrets.js';
import { containersOf, stackReplicas } from '../lib/stack.js';

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
  summary:
    "Use when a container cannot get its published port. Returns the stack's host ports, who holds a " +
    'conflicting one (container or host process) and a free port to remap to.',
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
        hostPort: z
          .number()
          .describe(
            'the host port published; when not published, the one asked for (first of a range; 0 = ephemeral, chosen by the engine at start)',
          ),
        requestedHostPort: z
          .string()
          .describe(
            'the host port as the container asks for it: "8080", a range "40000-40009", or "" for an ephemeral port (Compose ports: ["80"])',
          ),
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
    // Every secret of the project: an engine error or a host command line may carry any of them.
    const secrets = await projectSecrets(ctx, details);
    const listenersByPort = new Map<number, Promise<HostListener[]>>();
    const listeners = (port: number) => {
      if (!listenersByPort.has(port)) listenersByPort.set(port, hostListeners(port));
      return listenersByPort.get(port)!;
    };
    const ports = [];
    for (const d of details) {
      // What the container asks for: fixed host ports, ranges (one port of it) and ephemeral ports
      // (any free one). Each is matched to what the engine published for it while running.
      const wants: Want[] = [
        ...d.portBindings.map((b) => ({ ...b, requested: String(b.hostPort), range: null })),
        ...d.portRanges.map((r) => ({
          containerPort: r.containerPort,
          hostIp: r.hostIp,
          hostPort: r.from,
          requested: `${r.from}-${r.to}`,
          range: { from: r.from, to: r.to },
        })),
        ...d.ephemeralPorts.map((e) => ({ ...e, hostPort: 0, requested: '', range: null })),
      ];
      const taken = new Set<string>();
      for (const w of wants) {
        const published = d.state.running
          ? d.publishedPorts.find(
              (p) =>
                !taken.has(`${p.hostPort}/${p.containerPort}`) &&
                p.containerPort === w.containerPort &&
                overlaps(p.hostIp, w.hostIp) &&
                (w.range
                  ? p.hostPort >= w.range.from && p.hostPort <= w.range.to
                  : w.hostPort === 0 || p.hostPort === w.hostPort),
            )
          : undefined;
        const base = {
          service: d.service ?? '',
          container: d.name,
          state: d.state.status,
          containerPort: w.containerPort,
          hostIp: w.hostIp,
          requestedHostPort: w.requested,
        };
        if (published) {
          // The engine publishes a port on IPv4 and IPv6 alike: one binding, counted once.
          taken.add(`${published.hostPort}/${published.containerPort}`);
          ports.push({
            ...base,
            hostPort: published.hostPort,
            status: 'published' as const,
            holders: [],
            engineError: null,
            suggestedHostPort: null,
          });
          continue;
        }
        const engineError = d.state.error ? redact(d.state.error, secrets) : null;
        if (w.hostPort === 0) {
          // Nothing can hold a port the engine has yet to choose: it is published at the next start.
          ports.push({
            ...base,
            hostPort: 0,
            status: 'not_published' as const,
            holders: [],
            engineError,
            suggestedHostPort: null,
          });
          continue;
        }
        const candidates = w.range ? rangePorts(w.range) : [w.hostPort];
        const held = await Promise.all(
          candidates.map((port) => findHolders(w.hostIp, port, d.id, publishers, listeners, secrets)),
        );
        // A range conflicts only when every port of it is held.
        const holders = held.every((h) => h.length > 0) ? held.flat() : [];
        const conflict = holders.length > 0 || CONFLICT.test(d.state.error);
        ports.push({
          ...base,
          hostPort: w.hostPort,
          status: conflict ? ('conflict' as const) : ('not_published' as const),
          holders,
          engineError,
          suggestedHostPort: conflict
            ? await freePortNear(w.range?.to ?? w.hostPort, w.hostIp, publishers, listeners)
            : null,
        });
      }
    }
    return { ports, conflicts: ports.filter((p) => p.status === 'conflict').length };
  },
});

interface Want {
  containerPort: string;
  hostIp: string;
  /** The fixed port, the first of a range, or 0 for an ephemeral port. */
  hostPort: number;
  requested: string;
  range: { from: number; to: number } | null;
}

/** The ports of a range, at most the first 64 (a longer range is never all held). */
function rangePorts(range: { from: number; to: number }): number[] {
  const out: number[] = [];
  for (let p = range.from; p <= range.to && out.length < 64; p++) out.push(p);
  return out;
}

async function findHolders(
  hostIp: string,
  hostPort: number,
  self: string,
  publishers: Publisher[],
  listeners: (port: number) => Promise<HostListener[]>,
  secrets: readonly string[],
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
        ? redact(l.command, secrets)
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
