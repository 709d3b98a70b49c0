import { stat } from 'node:fs/promises';
import { z } from 'zod';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { volumeUsage } from '../../adapters/docker/volumes.js';
import { measureVolume } from '../../backup/measure-volume.js';
import { isToolError } from '../../errors.js';
import { formatBytes } from '../../util/duration.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { redactForProject } from '../lib/secrets.js';
import { stackReplicas } from '../lib/stack.js';

const VOLUME_LABEL = 'com.docker.compose.volume';
const MAX_FILES = 500;

export const diskUsage = defineTool({
  name: 'disk_usage',
  title: 'Disk usage of volumes and play logs',
  description:
    "Sizes of the stack's volumes (as `docker system df -v` computes them) against the thresholds in config " +
    '(disk.volumes; a volume with a threshold that system df omits, such as a named volume bound to a host path, is ' +
    "measured through a helper container as a backup reads it), and each running agent's DuckDB play-log files against disk.playLogs.threshold (the " +
    "handbook's monitor_duckdb.sh), and each container's json-file log file (its LogPath, sized where the engine's " +
    'host is this one; whether it rotates) against disk.logs. Flags what is over its threshold and which volumes nothing monitors. Used by ' +
    'the disk-usage runbook.',
  summary:
    'Use when disk space runs low or volumes grow. Returns volume and agent play-log sizes against their ' +
    'thresholds, flagging what is over and which volumes nothing monitors.',
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
        measuredBy: z
          .enum(['system df', 'archive'])
          .describe(
            'system df (the engine walks the volume), or archive: read through a helper container the way a volume backup reads it, for volumes system df omits (bind-mounted named volumes)',
          ),
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
    containerLogs: z
      .array(
        z.object({
          container: z.string(),
          driver: z.string(),
          bytes: z
            .number()
            .nullable()
            .describe('the log file size; null when the engine does not expose it here'),
          rotated: z
            .boolean()
            .describe('max-size is set (json-file), or the local driver (it rotates by itself)'),
          threshold: z.number(),
          over: z.boolean(),
        }),
      )
      .describe(
        "each container's log file (json-file: its LogPath, read where the engine's host is this one), against disk.logs",
      ),
    notMeasured: z
      .array(z.string())
      .describe('containers whose play logs or log files could not be read, and why'),
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
          measuredBy: 'system df' as 'system df' | 'archive',
        };
      });
    // A configured threshold is never skipped in silence: volumes system df omits (or could not size)
    // are measured through the archive API, as a volume backup reads them.
    const notMeasured: string[] = [];
    const stackVolumes = await projectVolumes(ctx);
    for (const [key, threshold] of Object.entries(thresholds)) {
      const have = volumes.find(
        (v) => v.volume === key || v.name === key || v.name === `${ctx.project}_${key}`,
      );
      if (have && have.bytes !== null) continue;
      const name =
        have?.name ?? stackVolumes.find((v) => v.key === key || v.name === `${ctx.project}_${key}`)?.name;
      if (!name) continue; // no such volume in this stack: nothing to measure
      const image = details.find((d) => d.mounts.some((m) => m.name === name))?.image ?? details[0]?.image;
      if (!image) {
        notMeasured.push(
          `volume ${key}: system df does not size it and no container of the stack has an image to read it with`,
        );
        continue;
      }
      try {
        const bytes = await measureVolume(ctx.docker, name, image, ctx.signal);
        const entry = {
          name,
          volume: key,
          usedBy: usedBy.get(name) ?? [],
          bytes,
          threshold,
          over: bytes > threshold,
          measuredBy: 'archive' as const,
        };
        if (have) Object.assign(have, entry);
        else volumes.push(entry);
      } catch (err) {
        if (!isToolError(err)) throw err;
        notMeasured.push(`volume ${key}: system df does not size it and reading it failed: ${err.message}`);
      }
    }
    volumes.sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0));

    const pl = ctx.config.disk.playLogs;
    const playLogs = [];
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
          `${d.name}: cannot list ${pl.dir} (${(await redactForProject(ctx, (found.stderr || found.stdout).trim())).slice(0, 200)})`,
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
    const containerLogs = await logFiles(ctx, details, notMeasured);
    const over =
      volumes.filter((v) => v.over).length +
      playLogs.filter((p) => p.over).length +
      containerLogs.filter((l) => l.over).length;
    const total = volumes.reduce((n, v) => n + (v.bytes ?? 0), 0);
    const logBytes = containerLogs.reduce((n, l) => n + (l.bytes ?? 0), 0);
    return {
      volumes,
      playLogs,
      containerLogs,
      notMeasured,
      over,
      summary:
        `${volumes.length} volume(s), ${formatBytes(total)} in all; ${playLogs.length} play log(s); ` +
        `container logs ${formatBytes(logBytes)}; ` +
        (over ? `${over} over threshold` : 'nothing over threshold'),
    };
  },
});

/** The project's named volumes (Compose labels them) with their Compose keys. */
async function projectVolumes(ctx: ToolContext): Promise<Array<{ name: string; key: string | null }>> {
  const r = (await ctx.docker.call('list volumes', ctx.signal, (s) =>
    (ctx.docker.docker.listVolumes as (o: object) => Promise<unknown>)({
      filters: { label: [`com.docker.compose.project=${ctx.project}`] },
      abortSignal: s,
    }),
  )) as { Volumes?: Array<{ Name: string; Labels?: Record<string, string> | null }> | null };
  return (r.Volumes ?? []).map((v) => ({ name: v.Name, key: v.Labels?.[VOLUME_LABEL] ?? null }));
}

/**
 * Each container's log file where the engine exposes it: the json-file driver's LogPath, sized on
 * this host when the engine's paths are this host's (DockerAdapter.sameHostAccess); otherwise
 * bytes is null and notMeasured says why. Other drivers keep no file the engine names (local rotates
 * by itself; journald, syslog… ship elsewhere). Largest first.
 */
async function logFiles(ctx: ToolContext, details: ContainerDetail[], notMeasured: string[]) {
  const threshold = ctx.config.disk.logs;
  const notHere = await ctx.docker.sameHostAccess(ctx.signal).catch((e: Error) => e.message);
  const out = [];
  for (const d of details) {
    const driver = d.logConfig.driver;
    if (driver !== 'json-file' && driver !== 'local') continue;
    const rotated = driver === 'local' || d.logConfig.options['max-size'] !== undefined;
    let bytes: number | null = null;
    if (driver === 'json-file' && d.logPath) {
      if (notHere) notMeasured.push(`${d.name}: log file not sized (${notHere})`);
      else
        bytes = await stat(d.logPath).then(
          (st) => st.size,
          (err: NodeJS.ErrnoException) => {
            notMeasured.push(
              `${d.name}: log file ${d.logPath} not readable here (${err.code ?? err.message})`,
            );
            return null;
          },
        );
    }
    out.push({
      container: d.name,
      driver,
      bytes,
      rotated,
      threshold,
      over: bytes !== null && bytes > threshold,
    });
  }
  return out.sort((a, b) => (b.bytes ?? -1) - (a.bytes ?? -1));
}
