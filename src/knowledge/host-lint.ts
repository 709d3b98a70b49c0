/**
 * The handbook's host-resource checks for `lint`: log rotation, CPU pinning and GPU reservations.
 * Pure: each service's merged Compose values in (compose-lint.ts reads the files), findings out.
 */

/** A service as these checks see it: the last value of each key over the files (base first, overlays after). */
export interface HostFacts {
  service: string;
  file: string;
  line: number | null;
  /** `logging` ({driver, options}), undefined when no file sets it. */
  logging: { driver?: unknown; options?: Record<string, unknown> } | undefined;
  /** `cpuset`, e.g. "0-2,4". */
  cpuset: string | undefined;
  /** deploy.resources.reservations.devices entries whose capabilities include gpu. */
  gpuReservations: Array<{ driver?: unknown; count?: unknown; device_ids?: unknown }>;
  /** `gpus:` (all, or a list) or `runtime: nvidia`: a GPU asked for another way. */
  gpusKey: boolean;
  /** The service's environment, merged (NVIDIA_VISIBLE_DEVICES). */
  environment: Record<string, string>;
  /** Whether a GPU overlay (a file whose name says gpu, e.g. docker-compose.gpu.yml) defines it. */
  inGpuOverlay: boolean;
}

export interface HostFinding {
  rule:
    | 'no_log_rotation'
    | 'shared_pinned_core'
    | 'cpuset_out_of_range'
    | 'shared_gpu'
    | 'gpu_without_reservation';
  severity: 'error' | 'warning';
  file: string;
  service: string;
  line: number | null;
  message: string;
  fix: string;
}

/** The handbook's rotation: 50m x 5 for the verbose game server, 10m x 3 for the rest. */
function rotationFor(service: string): string {
  const [size, files] = /vizdoom/i.test(service) ? ['50m', '5'] : ['10m', '3'];
  return `logging: { driver: json-file, options: { max-size: "${size}", max-file: "${files}" } } (the handbook's values)`;
}

/** CPU numbers of a cpuset ("0-2,4" → 0,1,2,4); null when it does not parse. */
export function parseCpuset(text: string): number[] | null {
  const out = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 4096) return null;
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** GPU ids a service is pinned to: reservation device_ids, else NVIDIA_VISIBLE_DEVICES (not all/none/void). */
function gpuIds(f: HostFacts): string[] {
  const ids = f.gpuReservations.flatMap((r) => (Array.isArray(r.device_ids) ? r.device_ids.map(String) : []));
  if (ids.length) return ids;
  const env = f.environment.NVIDIA_VISIBLE_DEVICES?.trim();
  if (!env || /^(all|none|void)$/i.test(env)) return [];
  return env
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * Findings over all services: json-file logs without rotation (the engine's default driver keeps
 * every line until the disk is full); two services pinned to a shared core, or a cpuset naming a
 * CPU the engine does not have (`engineCpus`, when known); two services pinned to the same GPU; a
 * service of a GPU overlay that reserves no GPU.
 */
export function hostFindings(facts: HostFacts[], engineCpus: number | undefined): HostFinding[] {
  const out: HostFinding[] = [];
  const at = (f: HostFacts) => ({ file: f.file, service: f.service, line: f.line });
  for (const f of facts) {
    const driver = f.logging?.driver === undefined ? undefined : String(f.logging.driver);
    const options = f.logging?.options ?? {};
    if (driver === undefined || driver === 'json-file') {
      if (options['max-size'] === undefined)
        out.push({
          rule: 'no_log_rotation',
          severity: 'warning',
          ...at(f),
          message:
            f.logging === undefined
              ? `${f.service} sets no logging: the engine's default json-file driver keeps every log line until the disk is full`
              : `${f.service} logs to json-file without max-size: its log file grows until the disk is full`,
          fix: `set ${rotationFor(f.service)}, or the local driver (it rotates by itself)`,
        });
    }
  }
  const pinned = facts.flatMap((f) => {
    if (f.cpuset === undefined) return [];
    const cpus = parseCpuset(f.cpuset);
    return cpus ? [{ f, cpus }] : [];
  });
  for (const [i, p] of pinned.entries()) {
    if (engineCpus !== undefined) {
      const beyond = p.cpus.filter((c) => c >= engineCpus);
      if (beyond.length)
        out.push({
          rule: 'cpuset_out_of_range',
          severity: 'error',
          ...at(p.f),
          message: `${p.f.service} is pinned to CPU ${beyond.join(', ')} (cpuset "${p.f.cpuset}"), but the engine has ${engineCpus} CPU(s) (0-${engineCpus - 1}): it will not start`,
          fix: `pin it to CPUs the engine has (cpuset within 0-${engineCpus - 1})`,
        });
    }
    for (const q of pinned.slice(0, i)) {
      const shared = p.cpus.filter((c) => q.cpus.includes(c));
      if (shared.length)
        out.push({
          rule: 'shared_pinned_core',
          severity: 'warning',
          ...at(p.f),
          message: `${p.f.service} and ${q.f.service} are both pinned to CPU ${shared.join(', ')} (cpuset "${p.f.cpuset}" and "${q.f.cpuset}"): they compete for it, which pinning was meant to avoid`,
          fix: 'give each pinned service its own cores',
        });
    }
  }
  const gpus = facts.map((f) => ({ f, ids: gpuIds(f) })).filter((g) => g.ids.length);
  for (const [i, g] of gpus.entries())
    for (const h of gpus.slice(0, i)) {
      const shared = g.ids.filter((x) => h.ids.includes(x));
      if (shared.length)
        out.push({
          rule: 'shared_gpu',
          severity: 'warning',
          ...at(g.f),
          message: `${g.f.service} and ${h.f.service} are both pinned to GPU ${shared.join(', ')}: they share its memory and compute`,
          fix: 'give each its own GPU (device_ids or NVIDIA_VISIBLE_DEVICES), or accept the sharing on purpose',
        });
    }
  for (const f of facts)
    if (f.inGpuOverlay && f.gpuReservations.length === 0 && !f.gpusKey)
      out.push({
        rule: 'gpu_without_reservation',
        severity: 'warning',
        ...at(f),
        message: `${f.service} is in the GPU overlay but reserves no GPU: the engine gives it none, so it runs without one${f.environment.NVIDIA_VISIBLE_DEVICES ? ' (NVIDIA_VISIBLE_DEVICES alone reserves nothing)' : ''}`,
        fix: 'add deploy.resources.reservations.devices: [{ driver: nvidia, count: 1, capabilities: [gpu] }]',
      });
  return out;
}
