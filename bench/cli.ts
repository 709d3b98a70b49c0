import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { stringify as toYaml } from 'yaml';
import { detectCompose } from '../src/adapters/compose/cli.js';
import { alternate, docker, IMAGE, makeStack, median, removeAll, round } from './lib.js';

/**
 * Before issue 21's start-up work: this benchmark run on the unchanged build (commit eb3065d, every
 * command loading every tool) on the 2-core machine (engine 20.10.24, docker-compose 1.29.2) on
 * 2026-12-04, with other work on the machine (load average about 4).
 */
const BEFORE = {
  commit: 'eb3065d',
  version_vs_node_e_0: { medianMs: 618.8, baselineMedianMs: 123.2, ratio: 4.81 },
  health_json_8_vs_compose_ps: { medianMs: 1530.5, baselineMedianMs: 855.9, ratio: 1.545 },
  health_json_8_peak_rss_mb: { median: 96.6, max: 97.5 },
};

type Runs = { aMs: number[]; bMs: number[]; ratio: number };
const summary = (r: Runs) => ({
  medianMs: round(median(r.aMs), 1),
  baselineMedianMs: round(median(r.bMs), 1),
  ratio: r.ratio,
});

/**
 * Issue 21: what a CLI run costs, as whole processes (Node start-up included). `doom-ops --version`
 * against `node -e 0` (target ≤ 3×); `doom-ops health --json` on an 8-container stack against
 * `docker-compose ps` (or `docker compose ps`) of the same project (aim ≤ 1.0×) and against the
 * build before the change (≤ 0.6×); its peak RSS (GNU time's %M, the process's maximum resident set
 * size; target ≤ 80 MB). DOOM_OPS_BENCH_CLI_BEFORE=<that build>/dist/src/cli/main.js runs it side by
 * side (alternating, same conditions); without it the comparison is with the medians in BEFORE.
 */
export async function benchCli(): Promise<Record<string, unknown>> {
  const cli = resolve('dist/src/cli/main.js');
  const before = process.env.DOOM_OPS_BENCH_CLI_BEFORE;
  const state = await mkdtemp(join(tmpdir(), 'doom-ops-bench-cli-'));
  const env = { ...process.env, DOOM_OPS_STATE_DIR: state };
  const node = (args: string[]) => execa('node', args, { env, reject: false });
  const version = (main: string) => () => node([main, '--version']);
  const nodeE0 = () => node(['-e', '0']);

  const project = `dobenchcli${Date.now().toString(36)}`;
  console.error(`creating 8 containers in project ${project}…`);
  const ids = await makeStack(project, 8);
  try {
    // Compose v1 reads the project's services from a file (v2 would not need one): the stack's.
    const services = await Promise.all(
      ids.map(
        async (id) => (await docker.getContainer(id).inspect()).Config.Labels['com.docker.compose.service']!,
      ),
    );
    const file = join(state, 'docker-compose.yml');
    await writeFile(
      file,
      toYaml({ services: Object.fromEntries(services.map((s) => [s, { image: IMAGE }])) }),
    );
    const compose = await detectCompose();
    const composePs = [compose.file, ...compose.prefix, 'ps'].join(' ');
    const ps = () => execa(compose.file, [...compose.prefix, '-p', project, '-f', file, 'ps'], { env });
    const health = (main: string) => () => node([main, 'health', '--json', '--project', project]);
    const answered = await health(cli)();
    if (!('verdict' in JSON.parse(answered.stdout)))
      throw new Error(`health --json gave no verdict: ${answered.stdout.slice(0, 300)}`);

    console.error('cli: --version vs node -e 0 (15 alternating runs)…');
    const v = await alternate(15, version(cli), nodeE0);
    console.error(`cli: health --json vs ${composePs} (15 alternating runs)…`);
    const h = await alternate(15, health(cli), ps);
    const rss = await peakRssMb([cli, 'health', '--json', '--project', project], env);
    const healthMs = median(h.aMs);

    let vsBefore: Record<string, unknown> = {
      medianMs: round(healthMs, 1),
      beforeMedianMs: BEFORE.health_json_8_vs_compose_ps.medianMs,
      ratio: round(healthMs / BEFORE.health_json_8_vs_compose_ps.medianMs),
      note: 'against the median recorded before the change (separate runs)',
    };
    let sideBySide: Record<string, unknown> | undefined;
    if (before) {
      console.error(`cli: side by side with ${before} (15 alternating runs each)…`);
      const pair = await alternate(15, health(cli), health(before));
      vsBefore = {
        medianMs: round(median(pair.aMs), 1),
        beforeMedianMs: round(median(pair.bMs), 1),
        ratio: pair.ratio,
        note: `alternating runs with the build before the change (${BEFORE.commit})`,
      };
      sideBySide = {
        build: before,
        version_vs_node_e_0: summary(await alternate(15, version(before), nodeE0)),
        health_json_8_vs_compose_ps: summary(await alternate(15, health(before), ps)),
        health_json_8_peak_rss_mb: await peakRssMb([before, 'health', '--json', '--project', project], env),
      };
    }
    return {
      version_vs_node_e_0: { ...summary(v), target: 'ratio <= 3', met: v.ratio <= 3 },
      health_json_8_vs_compose_ps: {
        ...summary(h),
        compose: composePs,
        composeVersion: compose.version,
        target: 'ratio <= 1.0 (the aim of issue 21)',
        met: h.ratio <= 1,
      },
      health_json_8_vs_before: {
        ...vsBefore,
        target: 'ratio <= 0.6',
        met: (vsBefore.ratio as number) <= 0.6,
      },
      health_json_8_peak_rss_mb: {
        ...rss,
        how: 'GNU time %M (maximum resident set size), 5 runs',
        target: 'max <= 80',
        met: rss.max <= 80,
      },
      before: { ...BEFORE, ...(sideBySide ? { measured_again_side_by_side: sideBySide } : {}) },
    };
  } finally {
    await removeAll(ids);
    await rm(state, { recursive: true, force: true });
  }
}

/** Peak resident set size (GNU time's %M, in KiB) of 5 runs, in MB: median and max. */
async function peakRssMb(args: string[], env: NodeJS.ProcessEnv): Promise<{ median: number; max: number }> {
  const mb: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await execa('/usr/bin/time', ['-f', '%M', 'node', ...args], { env, reject: false });
    const kib = Number(r.stderr.trim().split('\n').at(-1));
    if (!Number.isFinite(kib)) throw new Error(`/usr/bin/time gave no peak RSS: ${r.stderr.slice(-300)}`);
    mb.push((kib * 1024) / 1e6);
  }
  return { median: round(median(mb), 1), max: round(Math.max(...mb), 1) };
}
