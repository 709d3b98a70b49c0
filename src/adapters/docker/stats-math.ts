/**
 * Container metrics from Engine stats samples, computed as the docker CLI does (cli/command/
 * container/stats_helpers.go) so numbers agree with `docker stats`.
 */
export interface RawStats {
  read?: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: RawStats['cpu_stats'];
  memory_stats?: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
  pids_stats?: { current?: number; limit?: number };
}

export interface Metrics {
  cpuPercent: number | null;
  memoryUsedBytes: number | null;
  memoryLimitBytes: number | null;
  memoryPercent: number | null;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number | null;
  /** The pids cgroup's limit (pids_limit); null when unlimited (the engine reports 0 or a huge number). */
  pidsLimit: number | null;
}

/** CPU % between two cpu_stats readings; null when the engine gave no usable delta. */
export function cpuPercent(prev: RawStats['cpu_stats'], cur: RawStats['cpu_stats']): number | null {
  const cpuDelta = (cur?.cpu_usage?.total_usage ?? 0) - (prev?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cur?.system_cpu_usage ?? 0) - (prev?.system_cpu_usage ?? 0);
  if (!prev?.system_cpu_usage || !cur?.system_cpu_usage || systemDelta <= 0 || cpuDelta < 0) return null;
  const cpus = cur.online_cpus || cur.cpu_usage?.percpu_usage?.length || 1;
  return round((cpuDelta / systemDelta) * cpus * 100);
}

/** Memory in use without the page cache the kernel can drop (cgroup v1 and v2 keys). */
export function memoryUsed(mem: RawStats['memory_stats']): number | null {
  if (mem?.usage === undefined) return null;
  const stats = mem.stats ?? {};
  const cache = stats.total_inactive_file ?? stats.inactive_file;
  return cache !== undefined && cache < mem.usage ? mem.usage - cache : mem.usage;
}

/**
 * Metrics from one sample (CPU from its own precpu) or from two one-shot samples taken apart
 * (CPU from the first sample's cpu_stats to the second's).
 */
export function computeMetrics(cur: RawStats, prev?: RawStats): Metrics {
  const used = memoryUsed(cur.memory_stats);
  const limit = cur.memory_stats?.limit ?? null;
  let rx = 0;
  let tx = 0;
  for (const net of Object.values(cur.networks ?? {})) {
    rx += net.rx_bytes ?? 0;
    tx += net.tx_bytes ?? 0;
  }
  let read = 0;
  let write = 0;
  for (const entry of cur.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (entry.op ?? '').toLowerCase();
    if (op === 'read') read += entry.value ?? 0;
    else if (op === 'write') write += entry.value ?? 0;
  }
  return {
    cpuPercent: cpuPercent(prev ? prev.cpu_stats : cur.precpu_stats, cur.cpu_stats),
    memoryUsedBytes: used,
    memoryLimitBytes: limit,
    memoryPercent: used !== null && limit ? round((used / limit) * 100) : null,
    netRxBytes: rx,
    netTxBytes: tx,
    blockReadBytes: read,
    blockWriteBytes: write,
    pids: cur.pids_stats?.current ?? null,
    pidsLimit: pidsLimitOf(cur.pids_stats?.limit),
  };
}

/** Unlimited reads as 0 or max (2^63-1 / "max") depending on cgroup version. */
function pidsLimitOf(limit: number | undefined): number | null {
  return limit && limit > 0 && limit < 2 ** 32 ? limit : null;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
