import { isMap, isSeq, LineCounter, parseDocument, visit, type YAMLMap } from 'yaml';
import { formatBytes, parseBytes } from '../util/duration.js';
import { type HostFacts, type HostFinding, hostFindings } from './host-lint.js';
import { interpolate } from './interpolate.js';
import { envFilePaths, missingVariables, serviceEnvironment } from './required-vars.js';

export type LintRule =
  | 'no_healthcheck'
  | 'no_memory_limit'
  | 'no_cpu_limit'
  | 'restart_always_managed'
  | 'debug_port_in_production'
  | 'stateful_volume_without_backup'
  | 'volume_without_disk_monitoring'
  | 'swarm_ignored_key'
  | 'swarm_unplaceable'
  | 'missing_required_variable'
  | HostFinding['rule'];

export interface LintFinding {
  rule: LintRule;
  severity: 'error' | 'warning' | 'info';
  file: string;
  service: string;
  line: number | null;
  message: string;
  fix: string;
}

export interface LintOptions {
  /** Services whose lifecycle the orchestrator manages (restart: always fights it). */
  managedServices: string[];
  /** Named volumes a backup job covers. */
  backedUpVolumes: string[];
  /**
   * backup.volumes empty (the default): the volumes component covers every named volume of the
   * stack except these (backup.exclude). Absent: only backedUpVolumes are covered.
   */
  allNamedVolumesExcept?: string[];
  /** Named volumes with a disk-usage threshold. */
  monitoredVolumes: string[];
  /**
   * `swarm`: also what `docker stack deploy` ignores or cannot meet (swarm_ignored_key,
   * swarm_unplaceable). `nodes`: the swarm's nodes as a manager reports them, for placement.
   */
  target?: 'compose' | 'swarm';
  nodes?: SwarmNodeFacts[];
  /** The environment `${VAR}` in placement and reservations is taken from, as docker stack deploy does (default: this process's). */
  env?: Record<string, string | undefined>;
  /** The engine's CPU count (GET /info NCPU), for cpusets naming CPUs it does not have; unknown: not checked. */
  engineCpus?: number;
  /** Config requiredVariables: per service, the variables its environment must set (non-empty). */
  requiredVariables?: Record<string, string[]>;
  /** What `${VAR}` in environment values expands to, as Compose reads it: .env (and the overlay's) with the shell's over it. */
  vars?: Record<string, string | undefined>;
  /** An env_file's text by its path as written (relative to the Compose files); null when it cannot be read. */
  readEnvFile?: (path: string) => string | null;
}

/** What placement is checked against: a node's name, role, labels, resources and whether it takes tasks. */
export interface SwarmNodeFacts {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  labels: Record<string, string>;
  memoryBytes: number;
  nanoCpus: number;
  /** Ready and active: the scheduler may place tasks on it. */
  schedulable: boolean;
}

/** Compose keys `docker stack deploy` ignores (or rejects), and what to use instead. */
const SWARM_IGNORED: Record<string, string> = {
  build: 'build and push the image first (docker stack deploy only pulls `image`)',
  container_name: 'remove it: Swarm names tasks <stack>_<service>.<slot>.<task id>',
  depends_on:
    'remove it (Swarm starts services in no order): make the service retry its dependencies, with a healthcheck',
  links: 'remove it: services reach each other by name on the stack network',
  external_links: "remove it: attach the service to the other stack's network instead",
  restart: 'use deploy.restart_policy (condition: on-failure | any | none, max_attempts, delay)',
  network_mode:
    'use networks (an overlay network); host networking is `networks: [host]` with an external host network',
  cgroup_parent: 'remove it: not supported by docker stack deploy',
  devices:
    'not supported by docker stack deploy: use generic resources (deploy.resources.reservations.generic_resources) for GPUs',
  security_opt: 'remove it: not supported by docker stack deploy',
  userns_mode: 'remove it: not supported by docker stack deploy',
  mem_limit: 'use deploy.resources.limits.memory',
  memswap_limit: 'remove it: not supported by docker stack deploy',
  cpus: 'use deploy.resources.limits.cpus',
  cpu_shares: 'use deploy.resources.reservations.cpus',
  cpuset: 'remove it: not supported by docker stack deploy',
};

/** Debuggers whose ports must not be published outside development (delve, node, JVM, debugpy). */
const DEBUG_PORTS = new Set([2345, 9229, 9230, 5005, 5678, 40000]);
/** Services that keep state, per the handbook's volume section. */
const STATEFUL = /opensearch|elastic|mongo|postgres|mysql|redis|nats|ollama|duckdb|data/i;

interface FileDoc {
  file: string;
  services: Map<string, { node: YAMLMap; line: number | null }>;
  /** Top-level named volume declarations and their lines. */
  volumes: Map<string, number | null>;
  dev: boolean;
  /** The 1-based line of a character offset of the file. */
  lineOf: (offset: number) => number;
}

/** The line where a service of `d` sets variable `name` in its `environment` (map or list form). */
function envLine(d: FileDoc, service: string, name: string): number | null {
  const env = d.services.get(service)?.node.get('environment', true);
  const rangeLine = (n: unknown) => {
    const r = (n as { range?: [number, number, number] } | undefined)?.range;
    return r ? d.lineOf(r[0]) : null;
  };
  if (isMap(env)) {
    const pair = env.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === name);
    return pair ? rangeLine(pair.key) : null;
  }
  if (isSeq(env)) {
    const item = env.items.find((i) => {
      const text = String((i as { value?: unknown })?.value ?? i);
      return text === name || text.startsWith(`${name}=`);
    });
    return item ? rangeLine(item) : null;
  }
  return null;
}

function parse(file: string, text: string): FileDoc {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const services = new Map<string, { node: YAMLMap; line: number | null }>();
  const root = doc.contents;
  const svcs = isMap(root) ? root.get('services', true) : undefined;
  if (isMap(svcs)) {
    for (const pair of svcs.items) {
      const name = String((pair.key as { value?: unknown })?.value ?? pair.key);
      const keyRange = (pair.key as { range?: [number, number, number] })?.range;
      if (isMap(pair.value))
        services.set(name, {
          node: pair.value as YAMLMap,
          line: keyRange ? lineCounter.linePos(keyRange[0]).line : null,
        });
    }
  }
  const volumes = new Map<string, number | null>();
  const vols = isMap(root) ? root.get('volumes', true) : undefined;
  if (isMap(vols)) {
    for (const pair of vols.items) {
      const keyRange = (pair.key as { range?: [number, number, number] })?.range;
      volumes.set(
        String((pair.key as { value?: unknown })?.value ?? pair.key),
        keyRange ? lineCounter.linePos(keyRange[0]).line : null,
      );
    }
  }
  return {
    file,
    services,
    volumes,
    dev: /(^|[./_-])dev([./_-]|$)/i.test(file.split('/').pop() ?? file),
    lineOf: (offset) => lineCounter.linePos(offset).line,
  };
}

const get = (node: YAMLMap, path: string[]): unknown => node.getIn(path);

const plain = (v: unknown): unknown => (v as { toJSON?: () => unknown })?.toJSON?.() ?? v;

/** A service's `environment` as a map (list form `K=V` or map form), merged over the files in order. */
function environmentOf(where: FileDoc[], service: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const d of where) {
    const v = plain(get(d.services.get(service)!.node, ['environment']));
    if (Array.isArray(v))
      for (const item of v) {
        const [k, ...rest] = String(item).split('=');
        if (k) env[k] = rest.join('=');
      }
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) env[k] = x === null ? '' : String(x);
  }
  return env;
}

/** What host-lint.ts checks of one service: the last value of each key over its files. */
function hostFacts(where: FileDoc[], service: string, at: { file: string; line: number | null }): HostFacts {
  const last = (path: string[]) =>
    where
      .map((d) => get(d.services.get(service)!.node, path))
      .filter((v) => v !== undefined)
      .at(-1);
  const devices = plain(last(['deploy', 'resources', 'reservations', 'devices']));
  const gpuReservations = (Array.isArray(devices) ? devices : []).filter(
    (x): x is Record<string, unknown> =>
      !!x &&
      typeof x === 'object' &&
      Array.isArray((x as { capabilities?: unknown }).capabilities) &&
      ((x as { capabilities: unknown[] }).capabilities.includes('gpu') ||
        String((x as { driver?: unknown }).driver ?? '') === 'nvidia'),
  );
  const logging = plain(last(['logging'])) as HostFacts['logging'];
  const cpuset = last(['cpuset']);
  return {
    service,
    ...at,
    logging: logging && typeof logging === 'object' ? logging : undefined,
    cpuset: cpuset === undefined ? undefined : String(plain(cpuset)),
    gpuReservations,
    gpusKey: last(['gpus']) !== undefined || String(plain(last(['runtime'])) ?? '') === 'nvidia',
    environment: environmentOf(where, service),
    inGpuOverlay: where.some((d) => /(^|[./_-])gpu([./_-]|$)/i.test(d.file.split('/').pop() ?? d.file)),
  };
}

/** Why Compose would refuse a file before looking at any service: where, and in Compose's terms. */
export interface ComposeFileProblem {
  file: string;
  /** 1-based line (and column) of the offending node; null when the file as a whole is wrong (empty). */
  line: number | null;
  column: number | null;
  message: string;
}

/** Top-level sections Compose requires to be mappings when present (null means empty, and is allowed). */
const MAPPING_SECTIONS = ['services', 'volumes', 'networks', 'configs', 'secrets'] as const;

function kindOf(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  const value = (node as { value?: unknown })?.value;
  return value === null || value === undefined ? 'empty' : `a ${typeof value}`;
}

/**
 * What makes Compose reject a file outright, so a lint never says "no anti-patterns" about a file
 * Compose cannot load: YAML syntax errors (duplicate keys and several documents included), an empty
 * file or a top level that is not a mapping, `services` / `volumes` / `networks` / `configs` /
 * `secrets` that are not mappings, a service that is not a mapping, an alias (`*name`) with no anchor
 * before it. Each problem has file and line.
 */
export function composeFileProblems(file: string, text: string): ComposeFileProblem[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const at = (node: unknown) => {
    const range = (node as { range?: [number, number, number] })?.range;
    if (!range) return { line: null, column: null };
    const pos = lineCounter.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length)
    return doc.errors.map((e) => ({
      file,
      line: e.linePos?.[0].line ?? null,
      column: e.linePos?.[0].col ?? null,
      message:
        e.code === 'MULTIPLE_DOCS'
          ? 'more than one YAML document (a Compose file holds exactly one)'
          : `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    }));
  const unresolved: ComposeFileProblem[] = [];
  visit(doc, {
    Alias(_, alias) {
      let target: unknown;
      try {
        target = alias.resolve(doc);
      } catch {
        target = undefined;
      }
      if (!target)
        unresolved.push({
          file,
          ...at(alias),
          message: `YAML error: alias *${alias.source} has no anchor &${alias.source} before it`,
        });
    },
  });
  if (unresolved.length) return unresolved;
  const root = doc.contents;
  if (!isMap(root))
    return [
      {
        file,
        ...(root ? at(root) : { line: null, column: null }),
        message: root ? `the top level must be a mapping, not ${kindOf(root)}` : 'the file is empty',
      },
    ];
  const problems: ComposeFileProblem[] = [];
  for (const section of MAPPING_SECTIONS) {
    const node = root.get(section, true);
    if (node === undefined || node === null || kindOf(node) === 'empty') continue;
    if (!isMap(node)) {
      problems.push({ file, ...at(node), message: `${section} must be a mapping, not ${kindOf(node)}` });
      continue;
    }
    if (section !== 'services') continue;
    for (const pair of node.items) {
      const value = pair.value;
      if (value === null || value === undefined || isMap(value) || kindOf(value) === 'empty') continue;
      const name = String((pair.key as { value?: unknown })?.value ?? pair.key);
      problems.push({
        file,
        ...at(value),
        message: `service ${name} must be a mapping, not ${kindOf(value)}`,
      });
    }
  }
  return problems;
}

/** Thrown by lintCompose for files Compose would reject; the tool turns it into a user error. */
export class ComposeFileRejected extends Error {
  constructor(readonly problems: ComposeFileProblem[]) {
    super(
      problems
        .map(
          (p) =>
            `${p.file}${p.line === null ? '' : `:${p.line}${p.column === null ? '' : `:${p.column}`}`}: ${p.message}`,
        )
        .join('; '),
    );
    this.name = 'ComposeFileRejected';
  }
}

/** The plain values of a sequence under `key` (ports, volumes), or none when it is not a list. */
function listOf(node: YAMLMap, key: string): unknown[] {
  const seq = node.get(key, true);
  return isSeq(seq) ? seq.items.map((item) => (item as { toJSON?: () => unknown }).toJSON?.() ?? item) : [];
}

function publishedPorts(node: YAMLMap): number[] {
  const out: number[] = [];
  for (const v of listOf(node, 'ports')) {
    if (typeof v === 'string' || typeof v === 'number') {
      // "127.0.0.1:2345:2345", "2345:2345", "2345": the host side is the second-last field
      const parts = String(v).split('/')[0]!.split(':');
      const host = parts.length >= 2 ? parts[parts.length - 2] : parts[0];
      const n = Number(host || parts[parts.length - 1]);
      if (Number.isInteger(n)) out.push(n);
    } else if (v && typeof v === 'object') {
      const n = Number(
        (v as { published?: unknown; target?: unknown }).published ?? (v as { target?: unknown }).target,
      );
      if (Number.isInteger(n)) out.push(n);
    }
  }
  return out;
}

function namedVolumes(node: YAMLMap): string[] {
  const names: string[] = [];
  for (const v of listOf(node, 'volumes')) {
    const source =
      typeof v === 'string'
        ? v.includes(':')
          ? v.split(':')[0]
          : undefined
        : (v as { type?: string; source?: string })?.type === 'volume'
          ? (v as { source?: string }).source
          : undefined;
    // Named volumes only: bind mounts start with . / ~ or $
    if (source && !/^[./~$]/.test(source)) names.push(source);
  }
  return names;
}

/**
 * The handbook's "Anti-Patterns to Avoid", checked over the merged view of the files (base first,
 * overrides after, as Compose merges them): each finding names file, service, line and the fix.
 * Throws ComposeFileRejected (every problem, with file and line) when Compose would reject a file.
 */
export function lintCompose(
  files: Array<{ file: string; text: string }>,
  options: LintOptions,
): LintFinding[] {
  // Anti-patterns only mean something in a file Compose can load: never "no findings" for one it cannot.
  const problems = files.flatMap((f) => composeFileProblems(f.file, f.text));
  if (problems.length) throw new ComposeFileRejected(problems);
  const docs = files.map((f) => parse(f.file, f.text));
  const findings: LintFinding[] = [];
  const names = [...new Set(docs.flatMap((d) => [...d.services.keys()]))];
  const unmonitoredReported = new Set<string>();
  const host: HostFacts[] = [];
  for (const service of names) {
    const where = docs.filter((d) => d.services.has(service));
    const first = where[0]!;
    const at = { file: first.file, service, line: first.services.get(service)!.line };
    host.push(hostFacts(where, service, at));
    const required = options.requiredVariables?.[service] ?? [];
    if (required.length) {
      const sources = where.map((d) => {
        const node = d.services.get(service)!.node;
        return {
          envFiles: envFilePaths(plain(get(node, ['env_file']))).map((f) => f.path),
          environment: plain(get(node, ['environment'])),
          optional: new Set(
            envFilePaths(plain(get(node, ['env_file'])))
              .filter((f) => !f.required)
              .map((f) => f.path),
          ),
        };
      });
      const { env, unreadable, origin } = serviceEnvironment(
        sources,
        options.vars ?? {},
        options.readEnvFile ?? (() => null),
      );
      const lost = unreadable.filter((p) => !sources.some((x) => x.optional.has(p)));
      for (const m of missingVariables(env, required))
        findings.push({
          rule: 'missing_required_variable',
          severity: 'error',
          // An emptied variable: where it was emptied (an overlay, or the base file).
          ...(m.empty && origin[m.name] !== undefined
            ? {
                file: where[origin[m.name]!]!.file,
                service,
                line:
                  envLine(where[origin[m.name]!]!, service, m.name) ??
                  where[origin[m.name]!]!.services.get(service)!.line,
              }
            : at),
          message: `${service} ${m.empty ? `sets ${m.name} empty` : `has no ${m.name}`} in its environment (a required variable: config requiredVariables)${lost.length ? `; its env_file ${lost.join(', ')} could not be read` : ''}`,
          fix: `set ${m.name} in the service's environment, its env_file or .env (the handbook's Required Variables)`,
        });
    }
    const any = (path: string[]) => where.some((d) => get(d.services.get(service)!.node, path) !== undefined);
    const last = (path: string[]) =>
      where
        .map((d) => get(d.services.get(service)!.node, path))
        .filter((v) => v !== undefined)
        .at(-1);

    const hc = last(['healthcheck']);
    if (hc === undefined || (hc as { toJSON?: () => { disable?: boolean } })?.toJSON?.()?.disable === true) {
      findings.push({
        rule: 'no_healthcheck',
        severity: 'error',
        ...at,
        message: `${service} has no healthcheck: failures are silent`,
        fix: 'add a healthcheck (test, interval 10-30s, timeout 5-10s, retries 3-5, start_period for slow starters)',
      });
    }
    if (!any(['deploy', 'resources', 'limits', 'memory']) && !any(['mem_limit'])) {
      findings.push({
        rule: 'no_memory_limit',
        severity: 'error',
        ...at,
        message: `${service} has no memory limit: one runaway container can starve the host`,
        fix: 'set deploy.resources.limits.memory (docker-compose.prod.yml)',
      });
    }
    if (!any(['deploy', 'resources', 'limits', 'cpus']) && !any(['cpus'])) {
      findings.push({
        rule: 'no_cpu_limit',
        severity: 'warning',
        ...at,
        message: `${service} has no CPU limit`,
        fix: 'set deploy.resources.limits.cpus',
      });
    }
    if (options.managedServices.includes(service) && last(['restart']) === 'always') {
      const d = where.findLast((x) => get(x.services.get(service)!.node, ['restart']) !== undefined)!;
      findings.push({
        rule: 'restart_always_managed',
        severity: 'error',
        file: d.file,
        service,
        line: d.services.get(service)!.line,
        message: `${service} is managed by the orchestrator but has restart: always, which fights its lifecycle`,
        fix: 'restart: "no"',
      });
    }
    for (const d of where.filter((x) => !x.dev)) {
      for (const port of publishedPorts(d.services.get(service)!.node).filter((p) => DEBUG_PORTS.has(p))) {
        findings.push({
          rule: 'debug_port_in_production',
          severity: 'error',
          file: d.file,
          service,
          line: d.services.get(service)!.line,
          message: `${service} publishes debug port ${port} in ${d.file}, which production uses`,
          fix: 'move the port to docker-compose.dev.yml',
        });
      }
    }
    for (const vol of [...new Set(where.flatMap((d) => namedVolumes(d.services.get(service)!.node)))]) {
      const covered = options.allNamedVolumesExcept
        ? !options.allNamedVolumesExcept.includes(vol)
        : options.backedUpVolumes.includes(vol);
      if ((STATEFUL.test(service) || STATEFUL.test(vol)) && !covered) {
        findings.push({
          rule: 'stateful_volume_without_backup',
          severity: 'warning',
          ...at,
          message: `volume ${vol} of ${service} holds state and no backup covers it`,
          fix: options.allNamedVolumesExcept
            ? `remove ${vol} from backup.exclude in the doom-ops config (scheduled, verified backups with retention 7 daily / 4 weekly)`
            : `add ${vol} to backup.volumes in the doom-ops config (scheduled, verified backups with retention 7 daily / 4 weekly)`,
        });
      }
      if ((STATEFUL.test(service) || STATEFUL.test(vol)) && !options.monitoredVolumes.includes(vol)) {
        unmonitoredReported.add(vol);
        findings.push({
          rule: 'volume_without_disk_monitoring',
          severity: 'warning',
          ...at,
          message: `data volume ${vol} of ${service} has no disk monitoring: it can grow until the disk is full`,
          fix: `add a threshold for ${vol} under disk.volumes in the doom-ops config (checked by disk_usage and the disk-usage runbook)`,
        });
      }
    }
  }
  findings.push(...hostFindings(host, options.engineCpus));
  if (options.target === 'swarm')
    findings.push(...swarmFindings(docs, names, options.nodes, options.env ?? process.env));
  // Declared data volumes no service mounts here (e.g. used by an overlay) still need watching.
  for (const d of docs) {
    for (const [vol, line] of d.volumes) {
      if (!STATEFUL.test(vol) || options.monitoredVolumes.includes(vol) || unmonitoredReported.has(vol))
        continue;
      unmonitoredReported.add(vol);
      findings.push({
        rule: 'volume_without_disk_monitoring',
        severity: 'warning',
        file: d.file,
        service: '(volumes)',
        line,
        message: `data volume ${vol} has no disk monitoring: it can grow until the disk is full`,
        fix: `add a threshold for ${vol} under disk.volumes in the doom-ops config (checked by disk_usage and the disk-usage runbook)`,
      });
    }
  }
  return findings;
}

/**
 * `lint --target swarm`: keys `docker stack deploy` ignores or rejects (each with what to use),
 * and, when the swarm's nodes are known, services no node can ever take: placement constraints on
 * node.hostname / node.role / node.id / node.labels.* that no schedulable node meets, or memory or
 * CPU reservations larger than every node that meets them has.
 */
function swarmFindings(
  docs: FileDoc[],
  names: string[],
  nodes: SwarmNodeFacts[] | undefined,
  env: Record<string, string | undefined>,
): LintFinding[] {
  const out: LintFinding[] = [];
  for (const service of names) {
    const where = docs.filter((d) => d.services.has(service));
    for (const d of where) {
      const node = d.services.get(service)!.node;
      for (const key of Object.keys(SWARM_IGNORED)) {
        if (node.get(key) === undefined) continue;
        out.push({
          rule: 'swarm_ignored_key',
          severity: 'warning',
          file: d.file,
          service,
          line: d.services.get(service)!.line,
          message: `${service}: \`${key}\` is ignored by docker stack deploy`,
          fix: SWARM_IGNORED[key]!,
        });
      }
    }
    if (!nodes) continue;
    const last = (path: string[]) =>
      where
        .map((d) => get(d.services.get(service)!.node, path))
        .filter((v) => v !== undefined)
        .at(-1);
    // Values as docker stack deploy sees them: ${VAR} from the environment.
    const unset = new Set<string>();
    const expand = (v: unknown) => {
      const r = interpolate(String(v), env);
      for (const n of [...r.missing, ...r.errors.map((e) => e.split(':')[0]!)]) unset.add(n);
      return r.value;
    };
    const raw = last(['deploy', 'placement', 'constraints']);
    const constraints = ((isSeq(raw) ? raw.toJSON() : []) as unknown[]).map(expand);
    const memory = parseBytes(expand(last(['deploy', 'resources', 'reservations', 'memory']) ?? '0')) ?? 0;
    const cpus = Number(expand(last(['deploy', 'resources', 'reservations', 'cpus']) ?? 0)) || 0;
    const unsetNote = unset.size
      ? ` (${[...unset].map((n) => `\${${n}}`).join(', ')} is not set here: docker stack deploy would substitute an empty string)`
      : '';
    const placeable = nodes.filter((n) => n.schedulable && constraints.every((c) => meets(c, n)));
    const first = where[0]!;
    const at = { file: first.file, service, line: first.services.get(service)!.line };
    if (placeable.length === 0) {
      out.push({
        rule: 'swarm_unplaceable',
        severity: 'error',
        ...at,
        message: `${service} can never be placed: no schedulable node meets ${constraints.length ? `its constraints (${constraints.join(', ')})` : 'it (no node is ready and active)'}${unsetNote}`,
        fix: 'change deploy.placement.constraints, or label a node to match (docker node update --label-add k=v <node>)',
      });
      continue;
    }
    const roomy = placeable.filter((n) => n.memoryBytes >= memory && n.nanoCpus >= cpus * 1e9);
    if (roomy.length === 0)
      out.push({
        rule: 'swarm_unplaceable',
        severity: 'error',
        ...at,
        message: `${service} can never be placed: it reserves ${memory ? `${formatBytes(memory)} of memory` : ''}${memory && cpus ? ' and ' : ''}${cpus ? `${cpus} CPUs` : ''}, more than any node that may run it has (${placeable.map((n) => `${n.hostname}: ${formatBytes(n.memoryBytes)}, ${n.nanoCpus / 1e9} CPUs`).join('; ')})${unsetNote}`,
        fix: 'lower deploy.resources.reservations, or add a node that large',
      });
  }
  return out;
}

/** One placement constraint (`node.<attr> ==|!= value`) against a node; unknown attributes pass. */
function meets(constraint: string, n: SwarmNodeFacts): boolean {
  const m = /^\s*([\w.-]+)\s*(==|!=)\s*(.+?)\s*$/.exec(constraint);
  if (!m) return true;
  const [, attr, op, want] = m as unknown as [string, string, string, string];
  let have: string | undefined;
  if (attr === 'node.hostname') have = n.hostname;
  else if (attr === 'node.role') have = n.role;
  else if (attr === 'node.id') have = n.id;
  else if (attr.startsWith('node.labels.')) have = n.labels[attr.slice('node.labels.'.length)];
  else return true;
  // Swarm matches constraint values without regard to case.
  const same = have !== undefined && have.toLowerCase() === want.toLowerCase();
  return op === '==' ? same : !same;
}
