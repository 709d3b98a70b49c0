import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { docker, IMAGE, median } from './lib.js';

const GIB = 1024 ** 3;
const PROJECT = 'dobenchbackup';
const KEY = 'data';
/** Rounds of first backup (fresh repository) + second backup + handbook helper; the median is reported. */
const ROUNDS = 3;
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100;

interface ProcSample {
  comm: string;
  ppid: number;
  /** user + system CPU seconds so far. */
  cpuS: number;
}

/** comm, ppid and CPU time of a process from /proc/<pid>/stat, or undefined once it has gone. */
function procStat(pid: number): ProcSample | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces or parentheses: split after the last ')'.
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' '); // f[0] is field 3 (state)
    return { comm, ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / TICKS };
  } catch {
    return undefined;
  }
}

/** VmHWM and VmRSS (kB) of a process, or undefined once it has gone. */
function procMem(pid: number): { hwmKb: number; rssKb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(s);
    const rss = /VmRSS:\s+(\d+) kB/.exec(s);
    return hwm && rss ? { hwmKb: Number(hwm[1]), rssKb: Number(rss[1]) } : undefined;
  } catch {
    return undefined;
  }
}

interface Measured {
  ms: number;
  stdout: string;
  /** VmHWM of the node process. */
  peakRssMb: number;
  /** Highest VmHWM of any restic child of the node process. */
  resticPeakRssMb: number;
  /** Highest sum of VmRSS over the restic children alive at one poll (data and sums run at once). */
  resticPeakRssMbConcurrent: number;
  resticProcesses: number;
  /** restic's subcommand of each child, in start order (`backup`, `snapshots`, `cat`, …). */
  resticCommands: string[];
  /**
   * When the volume's `restic backup` (of its directory, or --stdin of its tar) was first and last seen (ms from the start):
   * the streaming phase; the rest is start-up and the other restic runs (each derives the key).
   */
  streamMs: { from: number; to: number } | undefined;
  /** CPU seconds (user + system) of the node process and of all its restic children, as last polled. */
  nodeCpuS: number;
  resticCpuS: number;
}

interface ResticChild {
  hwmKb: number;
  cpuS: number;
  args: string[];
  firstMs: number;
  lastMs: number;
}

/**
 * Runs a command and polls (every 50 ms) the peak resident memory (VmHWM) of its process and of the
 * `restic` processes it starts (children found by ppid in /proc/<pid>/stat), and their CPU time.
 */
async function runMeasured(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  streamFile?: RegExp,
): Promise<Measured> {
  const t = performance.now();
  const child = execa(cmd, args, { env: { ...process.env, ...env } });
  const pid = child.pid!;
  let peakKb = 0;
  let nodeCpuS = 0;
  let resticConcurrentKb = 0;
  const restic = new Map<number, ResticChild>();
  const poll = () => {
    const now = performance.now() - t;
    const mem = procMem(pid);
    if (mem) peakKb = Math.max(peakKb, mem.hwmKb);
    const own = procStat(pid);
    if (own) nodeCpuS = own.cpuS;
    let concurrent = 0;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const p = Number(name);
      const st = procStat(p);
      if (!st || st.ppid !== pid || st.comm !== 'restic') continue;
      const m = procMem(p);
      if (!m) continue;
      let seen = restic.get(p);
      if (!seen) {
        seen = { hwmKb: 0, cpuS: 0, args: [], firstMs: now, lastMs: now };
        restic.set(p, seen);
      }
      // Read right after the exec, the command line can still be empty: read it until it is not.
      if (seen.args.length === 0)
        try {
          seen.args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').slice(1).filter(Boolean);
        } catch {
          // exited meanwhile
        }
      seen.hwmKb = Math.max(seen.hwmKb, m.hwmKb);
      seen.cpuS = Math.max(seen.cpuS, st.cpuS);
      seen.lastMs = now;
      concurrent += m.rssKb;
    }
    resticConcurrentKb = Math.max(resticConcurrentKb, concurrent);
  };
  const timer = setInterval(poll, 50);
  let stdout: string;
  try {
    stdout = (await child).stdout;
  } finally {
    clearInterval(timer);
  }
  const all = [...restic.values()].sort((a, b) => a.firstMs - b.firstMs);
  // The volume's backup: a `restic backup … -- .` in its directory, or the `--stdin` of its tar.
  const stream = all.find(
    (r) =>
      r.args.includes('backup') &&
      (r.args.at(-1) === '.' || r.args.some((a) => streamFile?.test(a.replace(/^--stdin-filename=/, '')))),
  );
  return {
    ms: performance.now() - t,
    stdout,
    peakRssMb: peakKb / 1024,
    resticPeakRssMb: Math.max(0, ...all.map((r) => r.hwmKb)) / 1024,
    resticPeakRssMbConcurrent: resticConcurrentKb / 1024,
    resticProcesses: all.length,
    resticCommands: all.map((r) => r.args.find((a) => !a.startsWith('-')) ?? '?'),
    streamMs: stream ? { from: stream.firstMs, to: stream.lastMs } : undefined,
    nodeCpuS,
    resticCpuS: all.reduce((s, r) => s + r.cpuS, 0),
  };
}

/** Bytes on disk of a directory tree the way `du -sb` counts them: the apparent sizes of everything in it. */
function treeBytes(dir: string): number {
  let total = lstatSync(dir).size;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }))
    total += lstatSync(join(dir, name)).size;
  return total;
}

interface BackupJson {
  phase: string;
  components: Array<{
    component: string;
    target: string;
    bytes: number | null;
    bytesAdded: number | null;
    access: string | null;
    filesUnchanged: number | null;
  }>;
}

const r1 = (n: number) => +n.toFixed(1);
const r2 = (n: number) => +n.toFixed(2);
const s1 = (ms: number) => r1(ms / 1000);

/**
 * Backup of a 1 GiB volume (half random, half log-like text) by doom-ops (archive API of a
 * never-started helper, tar parsed while streaming, sha256 of the stream and of every file, the
 * stream piped into `restic backup --stdin` and the file sums into a second restic snapshot) vs the
 * handbook's `docker run … tar czf` helper on the same volume.
 *  - First backup into a fresh (empty) repository: throughput ratio handbook s / doom-ops s.
 *  - Second backup of the unchanged volume into the same repository: speed-up and repository growth.
 *  - Peak RSS of doom-ops' node process (also at 128 MiB, for flat memory) and of its restic children.
 */
export async function benchBackup(): Promise<Record<string, unknown>> {
  const volume = `${PROJECT}_${KEY}`;
  await docker.createVolume({
    Name: volume,
    Labels: { 'com.docker.compose.project': PROJECT, 'com.docker.compose.volume': KEY },
  });
  const out = resolve(join(tmpdir(), `dobenchbackup-${process.pid}-${Date.now()}`));
  mkdirSync(out);
  let owner: Awaited<ReturnType<typeof docker.createContainer>> | undefined;
  try {
    // A Compose-labelled (never started) container, so doom-ops finds the volume's owner and an image.
    owner = await docker.createContainer({
      name: `${PROJECT}_svc_1`,
      Image: IMAGE,
      Labels: {
        'com.docker.compose.project': PROJECT,
        'com.docker.compose.service': 'svc',
        'com.docker.compose.container-number': '1',
        'com.docker.compose.oneoff': 'False',
      },
      HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }] },
    });
    const config = join(out, 'config.yaml');
    writeFileSync(config, `backup:\n  volumes: [${KEY}]\n`);
    // The same with every volume streamed through the Engine API (what a remote engine, another
    // volume driver or an unreadable directory gets).
    const engineConfig = join(out, 'config-engine.yaml');
    writeFileSync(engineConfig, `backup:\n  volumes: [${KEY}]\n  volumeAccess: engine\n`);
    /** A fresh backup dir and state dir: the next backup with this env is a first one (empty repository). */
    let fresh = 0;
    const freshEnv = (cfg = config) => {
      const dir = join(out, `run-${fresh++}`);
      return {
        DOOM_OPS_CONFIG: cfg,
        DOOM_OPS_BACKUP_DIR: join(dir, 'backups'),
        DOOM_OPS_STATE_DIR: join(dir, 'state'),
      };
    };
    const repoOf = (env: Record<string, string>) => join(env.DOOM_OPS_BACKUP_DIR!, 'restic');
    const fill = (bytes: number) =>
      execa('docker', [
        'run',
        '--rm',
        '-v',
        `${volume}:/data`,
        IMAGE,
        'sh',
        '-c',
        `head -c ${bytes / 2} /dev/urandom > /data/random.bin && yes '{"level":"info","msg":"episode complete","latency_ms":42}' | head -c ${bytes / 2} > /data/log.jsonl && sync`,
      ]);
    const backupOnce = async (env: Record<string, string>) => {
      const r = await runMeasured(
        'node',
        [resolve('dist/src/cli/main.js'), 'backup', 'volumes', '--project', PROJECT, '--json'],
        env,
        new RegExp(`/volumes/${KEY}\\.tar$`),
      );
      const json = JSON.parse(r.stdout) as BackupJson;
      const c = json.components.find((x) => x.component === 'volumes' && x.target === KEY);
      if (json.phase !== 'Completed' || !c) throw new Error(`backup did not complete: ${r.stdout}`);
      return {
        ...r,
        phase: json.phase,
        bytes: c.bytes ?? 0,
        bytesAdded: c.bytesAdded ?? 0,
        access: c.access,
        filesUnchanged: c.filesUnchanged,
      };
    };
    const handbookOnce = async (i: number) => {
      const t = performance.now();
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
        `/backup/handbook-${i}.tar.gz`,
        '-C',
        '/data',
        '.',
      ]);
      const ms = performance.now() - t;
      const bytes = statSync(join(out, `handbook-${i}.tar.gz`)).size;
      rmSync(join(out, `handbook-${i}.tar.gz`));
      return { ms, bytes };
    };

    // Flat memory: the same (first) backup of a volume 8 times smaller must peak at about the same RSS.
    await fill(GIB / 8);
    const small = await backupOnce(freshEnv());
    await fill(GIB);

    const load = [loadAverage()];
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      const env = freshEnv();
      const repo = repoOf(env);
      // Alternate which side goes first, so neither always runs right after the other's I/O.
      const handbookFirst = i % 2 === 1;
      const handbook = handbookFirst ? await handbookOnce(i) : undefined;
      const first = await backupOnce(env);
      const repoAfterFirst = treeBytes(repo);
      const second = await backupOnce(env);
      const repoAfterSecond = treeBytes(repo);
      const theirs = handbook ?? (await handbookOnce(i));
      rounds.push({ first, second, theirs, repoAfterFirst, repoAfterSecond });
      rmSync(join(out, `run-${fresh - 1}`), { recursive: true, force: true });
    }
    load.push(loadAverage());
    // One round with backup.volumeAccess engine, for comparison.
    const engineEnv = freshEnv(engineConfig);
    const engineFirst = await backupOnce(engineEnv);
    const engineSecond = await backupOnce(engineEnv);
    rmSync(join(out, `run-${fresh - 1}`), { recursive: true, force: true });
    load.push(loadAverage());
    const reference = await referencePaths(out, owner.id, volume);
    load.push(loadAverage());

    const firstS = median(rounds.map((r) => r.first.ms)) / 1000;
    const secondS = median(rounds.map((r) => r.second.ms)) / 1000;
    const theirsS = median(rounds.map((r) => r.theirs.ms)) / 1000;
    const ratios = rounds.map((r) => r.theirs.ms / r.first.ms);
    const speedups = rounds.map((r) => r.first.ms / r.second.ms);
    const growth = rounds.map((r) => (100 * (r.repoAfterSecond - r.repoAfterFirst)) / r.repoAfterFirst);
    const all = rounds.flatMap((r) => [r.first, r.second]);
    const profile = (r: Measured) => ({
      wallS: s1(r.ms),
      // Before the volume's tar starts streaming into restic / the stream / after it (manifest, ids).
      beforeStreamS: r.streamMs ? s1(r.streamMs.from) : null,
      streamS: r.streamMs ? s1(r.streamMs.to - r.streamMs.from) : null,
      afterStreamS: r.streamMs ? s1(r.ms - r.streamMs.to) : null,
      nodeCpuS: r1(r.nodeCpuS),
      resticCpuS: r1(r.resticCpuS),
      // Average cores busy over the run (node and restic; dockerd's share of the archive is not counted).
      coresBusy: r2((r.nodeCpuS + r.resticCpuS) / (r.ms / 1000)),
      resticRuns: r.resticCommands.length,
    });
    const peakRss = Math.max(...all.map((r) => r.peakRssMb));
    return {
      volumeBytes: GIB,
      rounds: ROUNDS,
      firstBackupSeconds: rounds.map((r) => s1(r.first.ms)),
      secondBackupSeconds: rounds.map((r) => s1(r.second.ms)),
      handbookSeconds: rounds.map((r) => s1(r.theirs.ms)),
      doomOpsFirstMiBps: r1(1024 / firstS),
      doomOpsSecondMiBps: r1(1024 / secondS),
      handbookMiBps: r1(1024 / theirsS),
      // Median of the per-round ratios (each round: a fresh repository, and the handbook helper).
      throughputRatio: r2(median(ratios)),
      throughputRatios: ratios.map(r2),
      secondBackupSpeedup: r2(median(speedups)),
      secondBackupSpeedups: speedups.map(r2),
      repositoryBytesAfterFirst: median(rounds.map((r) => r.repoAfterFirst)),
      repositoryBytesAfterSecond: median(rounds.map((r) => r.repoAfterSecond)),
      repositoryGrowthPct: +median(growth).toFixed(3),
      repositoryGrowthPcts: growth.map((g) => +g.toFixed(3)),
      handbookArchiveBytes: median(rounds.map((r) => r.theirs.bytes)),
      repositoryToHandbookSize: r2(
        median(rounds.map((r) => r.repoAfterFirst)) / median(rounds.map((r) => r.theirs.bytes)),
      ),
      access: rounds[0]!.first.access,
      filesUnchangedSecond: rounds.map((r) => r.second.filesUnchanged),
      streamBytes: rounds[0]!.first.bytes,
      bytesAddedFirst: rounds.map((r) => r.first.bytesAdded),
      bytesAddedSecond: rounds.map((r) => r.second.bytesAdded),
      doomOpsPeakRssMb: r1(peakRss),
      doomOpsPeakRssMbAt128MiB: r1(small.peakRssMb),
      resticPeakRssMb: r1(Math.max(...all.map((r) => r.resticPeakRssMb))),
      resticPeakRssMbAt128MiB: r1(small.resticPeakRssMb),
      resticPeakRssMbConcurrent: r1(Math.max(...all.map((r) => r.resticPeakRssMbConcurrent))),
      resticRunsFirstBackup: rounds[0]!.first.resticCommands,
      resticRunsSecondBackup: rounds[0]!.second.resticCommands,
      profileFirstBackup: rounds.map((r) => profile(r.first)),
      profileSecondBackup: rounds.map((r) => profile(r.second)),
      engineAccess: {
        firstBackupSeconds: s1(engineFirst.ms),
        secondBackupSeconds: s1(engineSecond.ms),
        throughputRatio: r2(median(rounds.map((r) => r.theirs.ms)) / engineFirst.ms),
        secondBackupSpeedup: r2(engineFirst.ms / engineSecond.ms),
        peakRssMb: r1(Math.max(engineFirst.peakRssMb, engineSecond.peakRssMb)),
        profileFirstBackup: profile(engineFirst),
        profileSecondBackup: profile(engineSecond),
      },
      reference,
      loadAverage1m: load,
      targets: {
        throughputRatioAtLeast: 1,
        secondBackupSpeedupAtLeast: 5,
        repositoryGrowthPctUnder: 2,
        doomOpsPeakRssMbUnder: 150,
      },
      met: {
        throughputRatio: median(ratios) >= 1,
        secondBackupSpeedup: median(speedups) >= 5,
        repositoryGrowthPct: median(growth) < 2,
        doomOpsPeakRssMb: peakRss < 150,
      },
      note: "Each round: a first backup into a fresh, empty restic repository (fresh backup and state dirs), a second backup of the unchanged volume into the same repository, and the handbook's tar czf helper (alternating which goes first). doom-ops time is the whole CLI run with the default backup.volumeAccess auto: opening (creating) the repository and listing its snapshots, restic reading the volume's directory on this host file by file (chunking, dedup, compression, encryption; on the second backup restic skips files whose size, mtime, ctime and inode are unchanged), the manifest snapshot and the backup's verification. engineAccess: one round with backup.volumeAccess engine (the archive API of a helper, the tar parsed with every file's sha256 stored as a second snapshot, restic backup --stdin), what a remote engine or an unreadable volume gets. Repository size counts every file under <backup.dir>/restic (du -sb). reference: the same volume without doom-ops, once: the archive API piped straight into restic backup --stdin, restic backing up the volume's directory itself (file metadata lets a second backup skip unchanged files), and one restic run that only opens the repository (key derivation).",
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

/** Runs restic on a repository of the bench's own (password file beside it). */
function resticIn(repo: string, password: string) {
  return (args: string[]) =>
    execa('restic', args, {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: password },
    });
}

/**
 * The same volume backed up without doom-ops, to tell restic's and the engine's share from doom-ops'
 * own: (1) the archive API of the (never-started) owner container piped straight into `restic backup
 * --stdin`, first and second backup into a fresh repository; (2) restic backing up the volume's
 * directory on this host (the engine is local and this runs as root), first and second: restic
 * skips files whose metadata is unchanged; (3) `restic cat config`: what every restic run costs
 * before doing anything (Go start-up and the scrypt key derivation).
 */
async function referencePaths(out: string, ownerId: string, volume: string) {
  const password = join(out, 'reference.key');
  writeFileSync(password, 'dobenchbackup-reference\n', { mode: 0o600 });
  const timedMs = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };

  const pipeRepo = join(out, 'reference-pipe');
  const pipe = resticIn(pipeRepo, password);
  await pipe(['init', '-q']);
  const streamOnce = () =>
    timedMs(async () => {
      const archive = (await docker
        .getContainer(ownerId)
        .getArchive({ path: '/data' })) as NodeJS.ReadableStream;
      const r = pipe(['backup', '-q', '--stdin', `--stdin-filename=${volume}.tar`]);
      archive.pipe(r.stdin!);
      await r;
    });
  const pipeFirst = await streamOnce();
  const pipeSecond = await streamOnce();
  const keyMs: number[] = [];
  for (let i = 0; i < 3; i++) keyMs.push(await timedMs(() => pipe(['cat', 'config'])));
  rmSync(pipeRepo, { recursive: true, force: true });

  let files: { firstS: number; secondS: number } | string;
  const mountpoint = (await docker.getVolume(volume).inspect()).Mountpoint;
  try {
    readdirSync(mountpoint);
    const filesRepo = join(out, 'reference-files');
    const direct = resticIn(filesRepo, password);
    await direct(['init', '-q']);
    const a = await timedMs(() => direct(['backup', '-q', mountpoint]));
    const b = await timedMs(() => direct(['backup', '-q', mountpoint]));
    files = { firstS: s1(a), secondS: s1(b) };
    rmSync(filesRepo, { recursive: true, force: true });
  } catch (err) {
    files = `not measured: ${(err as Error).message.split('\n')[0]}`;
  }
  return {
    archiveApiIntoResticStdin: {
      firstS: s1(pipeFirst),
      secondS: s1(pipeSecond),
      secondSpeedup: r2(pipeFirst / pipeSecond),
    },
    resticBackupOfVolumeDirectory:
      typeof files === 'string' ? files : { ...files, secondSpeedup: r2(files.firstS / files.secondS) },
    resticOpenRepositoryS: r2(median(keyMs) / 1000),
  };
}
