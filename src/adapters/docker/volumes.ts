import type { DockerAdapter } from './client.js';

export interface VolumeUsage {
  name: string;
  labels: Record<string, string>;
  /** Bytes; null when the engine did not compute it (-1). */
  size: number | null;
  /** Containers (any state) that use it. */
  refCount: number | null;
}

/** Volume sizes as `docker system df -v` computes them (the engine walks each volume: can take seconds). */
export async function volumeUsage(adapter: DockerAdapter, signal?: AbortSignal): Promise<VolumeUsage[]> {
  const df = (await adapter.call(
    'read disk usage (system df)',
    signal,
    (s) => (adapter.docker.df as (o: object) => Promise<unknown>)({ abortSignal: s }),
    Math.max(adapter.timeoutMs, 60_000),
  )) as {
    Volumes?: Array<{
      Name: string;
      Labels?: Record<string, string> | null;
      UsageData?: { Size: number; RefCount: number };
    }>;
  };
  return (df.Volumes ?? []).map((v) => ({
    name: v.Name,
    labels: v.Labels ?? {},
    size: v.UsageData && v.UsageData.Size >= 0 ? v.UsageData.Size : null,
    refCount: v.UsageData && v.UsageData.RefCount >= 0 ? v.UsageData.RefCount : null,
  }));
}
