import { z } from 'zod';
import { volumeUsage } from '../adapters/docker/volumes.js';
import { formatBytes } from '../util/duration.js';
import { defineTool } from './define-tool.js';
import { stackReplicas } from './lib/stack.js';

const VOLUME_LABEL = 'com.docker.compose.volume';
const MAX_FILES = 500;

export const diskUsage = defineTool({
  name: 'disk_usage',
  title: 'Disk usage of volumes and play logs',
  description:
    "Sizes of the stack's volumes (as `docker system df -v` computes them) against the thresholds in config " +
    "(disk.volumes), and each running agent's DuckDB play-log files against disk.playLogs.threshold (the " +
    "handbook's monitor_duckdb.sh). Flags what is over its threshold and which volumes nothing monitors. Used by " +
    'the disk-usage runbook.',
  risk: 'read',
  idempotent: true,
  input: z.object({}),
  output: z.object({
    volumes: z.array(
      z.object({
        name: z.string(),
        volume: z.string().nullable().describe('Compose volume key, e.g. opensearch-data (null: anonymous)'),
        usedBy: z.array(z.string()),
        bytes: z.number().nullable(),
        threshold: z.number().nullable(),
        over: z.boolean(),
      }),
    ),
    playLogs: z.array(
      z.object({
        container: z.string(),
        file: z.string(),
        bytes: z.number(),
        threshold: z.number(),
        over: z.boolean(),
      }),
    ),
    notMeasured: z.array(z.string()).describe('containers whose play logs could not be read, and why'),
    over: z.number(),
    summary: z.string(),
  }),
  async run(ctx, _input) {
    const replicas = await stackReplicas(ctx);
    const [details, usage] = await Promise.all([
      ctx.docker.inspectMany(
        replicas.map((c) => c.id),
        ctx.signal,
      ),
      volumeUsage(ctx.docker, ctx.signal),
    ]);
    const usedBy = new Map<string, string[]>();
    for (const d of details)
      for (const m of d.mounts) if (m.name) usedBy.set(m.name, [...(usedBy.get(m.name) ?? []), d.name]);
    const thresholds = ctx.config.disk.volumes;
    const volumes = usage
      .filter((v) => v.labels['com.docker.compose.project'] === ctx.project || usedBy.has(v.name))
      .map((v) => {
        const key = v.labels[VOLUME_LABEL] ?? null;
        const threshold = (key !== null ? thresholds[key] : undefined) ?? thresholds[v.name] ?? null;
        return {
          name: v.name,
          volume: key,
          usedBy: usedBy.get(v.name) ?? [],
          bytes: v.size,
          threshold,
          over: threshold !== null && v.size !== null && v.size > threshold,
        };
      })
      .sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0));

    const pl = ctx.config.disk.playLogs;
    const playLogs = [];
    const notMeasured: string[] = [];
    for (const d of details.filter((x) => x.service === pl.service)) {
      if (!d.state.running) {
        notMeasured.push(`${d.name}: not running (play logs are measured from inside the container)`);
        continue;
      }
      const found = await ctx.docker.exec(d.id, ['find', pl.dir, '-type', 'f', '-name', `*${pl.suffix}`], {
        signal: ctx.signal,
        maxOutput: 65_536,
      });
      const files = found.stdout.split('\n').filter(Boolean).slice(0, MAX_FILES);
      if (found.exitCode !== 0 && files.length === 0) {
        notMeasured.push(
          `${d.name}: cannot list ${pl.dir} (${(found.stderr || found.stdout).trim().slice(0, 200)})`,
        );
        continue;
      }
      if (files.length === 0) continue;
      const stat = await ctx.docker.exec(d.id, ['stat', '-c', '%s %n', ...files], {
        signal: ctx.signal,
        maxOutput: 65_536,
      });
      for (const line of stat.stdout.split('\n')) {
        const m = /^(\d+) (.+)$/.exec(line);
        if (!m) continue;
        const bytes = Number(m[1]);
        playLogs.push({
          container: d.name,
          file: m[2]!,
          bytes,
          threshold: pl.threshold,
          over: bytes > pl.threshold,
        });
      }
    }
    playLogs.sort((a, b) => b.bytes - a.bytes);
    const over = volumes.filter((v) => v.over).length + playLogs.filter((p) => p.over).length;
    const total = volumes.reduce((n, v) => n + (v.bytes ?? 0), 0);
    return {
      volumes,
      playLogs,
      notMeasured,
      over,
      summary:
        `${volumes.length} volume(s), ${formatBytes(total)} in all; ${playLogs.length} play log(s); ` +
        (over ? `${over} over threshold` : 'nothing over threshold'),
    };
  },
});
