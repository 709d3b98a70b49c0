import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../src/config/load.js';
import { createSafety } from '../src/safety/index.js';
import type { ToolContext } from '../src/tools/context.js';
import { invokeTool } from '../src/tools/invoke.js';
import { findTool } from '../src/tools/registry.js';
import { alternate, context, docker, IMAGE, median, round } from './lib.js';

const MIB = 1024 ** 2;
const BYTES = 256 * MIB;
const KEY = 'data';
/** Alternating pairs (doom-ops restore, tar xzf helper; BENCH_ROUNDS, default 5); the ratio is the median of the per-pair ratios. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/**
 * The figures of the code before the restore ran its checks in parallel (commit eb3065d: the backup
 * read back, then the safety backup, one after the other; the backup located with three restic
 * listings; the emptying helper created and started after the checks). `thisBench`: this bench on
 * that code; `interleaved`: that build, this one and the helper alternated in one run (6 rounds,
 * load 1.4), the fairest comparison on a machine others share.
 */
const BASELINE = {
  code: 'eb3065d',
  thisBench: { ratio: 2.483, doomOpsMedianS: 9.43, helperMedianS: 3.3, loadAverage1m: [4.1, 4.65] },
  interleaved: { ratio: 3.154, doomOpsMedianS: 8.89, helperMedianS: 2.9, thisCodeRatio: 2.037 },
};

/** The bench context with state and backup dirs of its own and every restore approved. */
function restoreContext(project: string, out: string, progress: ToolContext['progress']): ToolContext {
  const loaded = loadConfig({
    env: { DOOM_OPS_STATE_DIR: join(out, 'state'), DOOM_OPS_BACKUP_DIR: join(out, 'backups') },
    project,
  });
  const config = { ...loaded, backup: { ...loaded.backup, volumes: [KEY] } };
  return {
    ...context(project),
    safety: createSafety(config),
    config,
    progress,
    approver: async () => ({ approved: true, approver: 'bench', via: 'bench' }),
  };
}

/** sha256 of every file in the volume, sorted: what both sides must leave behind. */
async function volumeSums(volume: string): Promise<string> {
  const r = await execa('docker', [
    'run',
    '--rm',
    '-v',
    `${volume}:/data:ro`,
    IMAGE,
    'sh',
    '-c',
    'cd /data && find . -type f | sort | xargs sha256sum',
  ]);
  return r.stdout;
}

/**
 * Restore of a 256 MiB volume (half random bytes, half log-like JSON lines: the mix bench/backup.ts
 * uses) by doom-ops, in-process through invokeTool with the approval granted: resolving the backup,
 * the journal, reading the backup back and checking it, the safety backup of the current data
 * (restic reading the volume's directory), then the volume emptied by a helper and restic's dump
 * streamed into the Engine API's archive PUT, vs the handbook's helper extracting a tar.gz of the
 * same data into the volume (`docker run --rm -v vol:/data -v dir:/backup <test image> tar xzf …`).
 */
export async function benchRestore(): Promise<Record<string, unknown>> {
  await execa('bash', ['test/stack/build-images.sh'], { stdio: 'inherit' });
  const project = `dobenchrestore${process.pid}`;
  const volume = `${project}_${KEY}`;
  const out = resolve(join(tmpdir(), `${project}-${Date.now()}`));
  mkdirSync(out);
  await docker.createVolume({
    Name: volume,
    Labels: { 'com.docker.compose.project': project, 'com.docker.compose.volume': KEY },
  });
  let owner: Awaited<ReturnType<typeof docker.createContainer>> | undefined;
  try {
    // A Compose-labelled, never-started container: the volume's owner (and the helpers' image).
    owner = await docker.createContainer({
      name: `${project}_svc_1`,
      Image: IMAGE,
      Labels: {
        'com.docker.compose.project': project,
        'com.docker.compose.service': 'svc',
        'com.docker.compose.container-number': '1',
        'com.docker.compose.oneoff': 'False',
      },
      HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }] },
    });
    await execa('docker', [
      'run',
      '--rm',
      '-v',
      `${volume}:/data`,
      IMAGE,
      'sh',
      '-c',
      `head -c ${BYTES / 2} /dev/urandom > /data/random.bin && yes '{"level":"info","msg":"episode complete","latency_ms":42}' | head -c ${BYTES / 2} > /data/log.jsonl && sync`,
    ]);
    const want = await volumeSums(volume);

    let events: Array<{ at: number; message: string }> = [];
    const ctx = restoreContext(project, out, (p) =>
      events.push({ at: performance.now(), message: p.message ?? '' }),
    );
    const backup = (await invokeTool(findTool('backup')!, ctx, { component: 'volumes' })) as {
      id: string;
      phase: string;
    };
    if (backup.phase !== 'Completed') throw new Error(`the backup did not complete: ${backup.phase}`);
    // The handbook's backup helper makes the archive the other side extracts.
    await execa('docker', [
      'run',
      '--rm',
      '-v',
      `${volume}:/data:ro`,
      '-v',
      `${out}:/backup`,
      IMAGE,
      'tar',
      'czf',
      '/backup/data.tar.gz',
      '-C',
      '/data',
      '.',
    ]);

    const profiles: Array<Record<string, number>> = [];
    const rssPeaksMb: number[] = [];
    const restore = async () => {
      events = [];
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const timer = setInterval(() => {
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }, 50);
      const t = performance.now();
      try {
        await invokeTool(findTool('restore')!, ctx, { id: backup.id, component: 'volumes' });
      } finally {
        clearInterval(timer);
      }
      const end = performance.now();
      rssPeaksMb.push(round((rssPeak - rssBefore) / MIB, 1));
      // Phases from the progress messages: until the checks start, verify and safety backup, extraction.
      const first = (re: RegExp) => events.find((e) => re.test(e.message))?.at;
      const checks = first(/^reading backup /) ?? t;
      const extract = first(/^restoring volumes /) ?? end;
      profiles.push({
        beforeChecksS: round((checks - t) / 1000, 2),
        checksAndSafetyBackupS: round((extract - checks) / 1000, 2),
        extractS: round((end - extract) / 1000, 2),
      });
    };
    const helper = () =>
      execa('docker', [
        'run',
        '--rm',
        '-v',
        `${volume}:/data`,
        '-v',
        `${out}:/backup:ro`,
        IMAGE,
        'tar',
        'xzf',
        '/backup/data.tar.gz',
        '-C',
        '/data',
      ]);

    const load = [loadAverage()];
    const r = await alternate(ROUNDS, restore, helper);
    load.push(loadAverage());
    // The last run of each side must have left the backup's data behind.
    await restore();
    const restoredOk = (await volumeSums(volume)) === want;
    await helper();
    const helperOk = (await volumeSums(volume)) === want;
    const phase = (k: string) => round(median(profiles.map((p) => p[k]!)), 2);
    return {
      volumeBytes: BYTES,
      data: 'half random bytes (incompressible), half repeated JSON log lines (very compressible)',
      rounds: ROUNDS,
      doomOpsSeconds: r.aMs.map((ms) => round(ms / 1000, 2)),
      helperSeconds: r.bMs.map((ms) => round(ms / 1000, 2)),
      doomOpsMedianS: round(median(r.aMs) / 1000, 2),
      helperMedianS: round(median(r.bMs) / 1000, 2),
      ratio: r.ratio,
      profileMedianS: {
        beforeChecks: phase('beforeChecksS'),
        checksAndSafetyBackup: phase('checksAndSafetyBackupS'),
        extract: phase('extractS'),
      },
      doomOpsRssGrowthMb: rssPeaksMb,
      restoredMatches: restoredOk,
      helperMatches: helperOk,
      loadAverage1m: load,
      baseline: BASELINE,
      target: { ratioAtMost: 2 },
      met: { ratio: r.ratio <= 2 && restoredOk && helperOk },
      note: "doom-ops: the restore tool in-process (invokeTool, approval granted): locating the backup in the local restic repository (its listing cache), the journal, reading the backup back (restic dump, tar parsed, counts checked) while writing the safety backup of the current data (restic reading the volume's directory; the volume holds what the previous run left, so restic reads and hashes all of it but finds its chunks already stored), then the volume is emptied by a helper (created and started while the checks run, waiting at a gate) and restic's dump (started once one check has passed) streams into the Engine API's archive PUT. Helper: the handbook's `tar xzf` of a tar.gz made by its `tar czf` helper from the same data, in a container of the test image (busybox tar), extracting over the volume as it is. Alternating, order swapped each round; ratio = median of per-pair ratios. doomOpsRssGrowthMb: the node process's peak RSS during each restore minus its RSS before.",
    };
  } finally {
    await owner?.remove({ force: true }).catch(() => undefined);
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => undefined);
    rmSync(out, { recursive: true, force: true });
  }
}

/** The 1-minute load average (other work on the machine skews these timings). */
function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
