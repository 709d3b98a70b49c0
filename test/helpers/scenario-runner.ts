/**
 * The diagnosis evaluation suite's runner (design.md §8): each test/scenarios/<name>/ holds a small
 * Compose file and a scenario.yaml of steps (bring it up, trigger the fault, wait for the engine to
 * show it, run doom-ops as on-call would and grade what it says). See test/scenarios/README.md.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { durationMs } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { EventStore } from '../../src/recorder/event-store.js';
import { EventRecorder } from '../../src/recorder/recorder.js';
import { cli } from './cli.js';
import { containerOf, docker, freePort, uniqueProject } from './stack.js';

export const SCENARIOS_DIR = resolve('test/scenarios');

const expectation = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.object({ atLeast: z.number() }).strict(),
  z.object({ atMost: z.number() }).strict(),
  z.array(z.unknown()),
]);

const check = z
  .object({
    name: z.string(),
    /** doom-ops arguments; --project is added. */
    run: z.array(z.string()).min(1),
    exit: z.number().int().optional(),
    /** Facts the human text must state: case-insensitive substrings, or /regex/. */
    says: z.array(z.string()).default([]),
    /** What it must never say (confidently wrong answers seen in the field). */
    never: z.array(z.string()).default([]),
    /** Fields of the --json output: dotted paths, `list[key=value]` picks an element, `.length` counts. */
    json: z.record(z.string(), expectation).optional(),
    /** The run may take this long (default 60s). */
    timeout: durationMs.default(60_000),
  })
  .strict();
export type ScenarioCheck = z.output<typeof check>;

const waitFor = z
  .object({
    service: z.string(),
    number: z.number().int().default(1),
    state: z.string().optional(),
    health: z.string().optional(),
    restartCount: expectation.optional(),
    exitCode: z.number().optional(),
    /** Engine `oom` events of the service since the scenario began. */
    oomEvents: expectation.optional(),
    /** Engine events of the service since the scenario began, e.g. { action: die, count: { atLeast: 3 } } */
    events: z.object({ action: z.string(), count: expectation }).optional(),
    /** PIDs in use in the container (stats). */
    pids: expectation.optional(),
    /** A regex its logs must match. */
    logs: z.string().optional(),
    timeout: durationMs.default(90_000),
  })
  .strict();

const step = z.union([
  z
    .object({
      up: z
        .object({
          services: z.array(z.string()).optional(),
          /** `compose up` is expected to fail (a container that cannot start). */
          mayFail: z.boolean().default(false),
          /** `compose up --no-start`: create the containers only. */
          noStart: z.boolean().default(false),
        })
        .strict(),
    })
    .strict(),
  /** Any docker-compose command; `env` adds variables (e.g. to recreate a service with other settings). */
  z
    .object({ compose: z.array(z.string()).min(1), env: z.record(z.string(), z.string()).optional() })
    .strict(),
  /** A script in the scenario directory, run with bash (PROJECT, COMPOSE_FILE, SCENARIO_DIR set). */
  z.object({ script: z.string() }).strict(),
  /** A command in a running container of a service. */
  z
    .object({
      exec: z.object({ service: z.string(), number: z.number().int().default(1), argv: z.array(z.string()) }),
    })
    .strict(),
  /** Push this many unrelated events through the engine, so its 256-event memory forgets the fault. */
  z.object({ flood: z.number().int().positive() }).strict(),
  z.object({ wait: waitFor }).strict(),
  z.object({ sleep: durationMs }).strict(),
  z.object({ check }).strict(),
]);
type Step = z.output<typeof step>;

export const scenarioSchema = z
  .object({
    title: z.string(),
    /** The kind of fault (issue 16's headings), for the score table. */
    kind: z.string(),
    /** The publicly reported failure it is modelled on. */
    reported: z.string(),
    /** doom-ops configuration (YAML keys); `${VAR}` is replaced from the scenario's environment. */
    config: z.record(z.string(), z.unknown()).default({}),
    /** Free 127.0.0.1 ports to allocate into these environment variables. */
    ports: z.array(z.string()).default([]),
    /** Consecutive free 127.0.0.1 ports for these variables (a host port range). */
    consecutivePorts: z.array(z.string()).default([]),
    /** Variables (from ports) a host process listens on for the whole scenario. */
    listen: z.array(z.string()).default([]),
    /** The event recorder runs for the project, as `doom-ops serve` would have it. */
    recorder: z.boolean().default(true),
    timeout: durationMs.default(240_000),
    steps: z.array(step).min(1),
  })
  .strict();
export type Scenario = z.output<typeof scenarioSchema> & { name: string; dir: string };

export function loadScenarios(filter?: string): Scenario[] {
  const names = readdirSync(SCENARIOS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(SCENARIOS_DIR, d.name, 'scenario.yaml')))
    .map((d) => d.name)
    .sort();
  const wanted = filter ? filter.split(',').map((s) => s.trim()) : undefined;
  return names
    .filter((n) => !wanted || wanted.some((w) => n.includes(w)))
    .map((name) => {
      const dir = join(SCENARIOS_DIR, name);
      const raw = parseYaml(readFileSync(join(dir, 'scenario.yaml'), 'utf8'));
      const parsed = scenarioSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`test/scenarios/${name}/scenario.yaml: ${parsed.error.message}`);
      return { ...parsed.data, name, dir };
    });
}

export interface CheckResult {
  name: string;
  ok: boolean;
  failures: string[];
}

export interface ScenarioResult {
  name: string;
  kind: string;
  title: string;
  checks: CheckResult[];
  /** Setup or wait failures (the scenario never got to be graded). */
  errors: string[];
  seconds: number;
}

export function right(r: ScenarioResult): boolean {
  return r.errors.length === 0 && r.checks.length > 0 && r.checks.every((c) => c.ok);
}

/** The first of `n` consecutive ports that are free on 127.0.0.1 now. */
async function consecutiveFreePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers: Server[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const srv = createServer();
        await new Promise<void>((ok, fail) => {
          srv.once('error', fail);
          srv.listen(base + i, '127.0.0.1', ok);
        });
        servers.push(srv);
      }
      return base;
    } catch {
      // taken: try another base
    } finally {
      for (const srv of servers) await new Promise((r) => srv.close(r));
    }
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

function substitute(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (m, k: string) => env[k] ?? m);
}

/** ${PROJECT}, ${SOME_PORT}… in a check's arguments, facts and expected values. */
function withEnv(c: ScenarioCheck, env: Record<string, string>): ScenarioCheck {
  return JSON.parse(substitute(JSON.stringify(c), env)) as ScenarioCheck;
}

/** Runs one scenario on the real engine under a unique project and grades every check. */
export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const project = uniqueProject(`sc${s.name.replace(/[^a-z0-9]/g, '').slice(0, 12)}`);
  const work = mkdtempSync(join(tmpdir(), `doomsc-${s.name}-`));
  const stateDir = join(work, 'state');
  const env: Record<string, string> = { PROJECT: project, SCENARIO_DIR: s.dir, WORK_DIR: work };
  for (const p of s.ports) env[p] = String(await freePort());
  if (s.consecutivePorts.length) {
    const base = await consecutiveFreePorts(s.consecutivePorts.length);
    s.consecutivePorts.forEach((v, i) => {
      env[v] = String(base + i);
    });
  }
  const servers: Server[] = [];
  for (const l of s.listen) {
    const srv = createServer((c) => c.destroy());
    await new Promise<void>((r) => srv.listen(Number(env[l]), '127.0.0.1', r));
    servers.push(srv);
  }
  const composeFile = join(s.dir, 'docker-compose.yml');
  env.COMPOSE_FILE = composeFile;
  const config = {
    compose: { dir: s.dir, files: ['docker-compose.yml'] },
    ...JSON.parse(substitute(JSON.stringify(s.config), env)),
  };
  const configPath = join(work, 'doom-ops.yaml');
  writeFileSync(configPath, stringifyYaml(config));
  const cliEnv = { DOOM_OPS_CONFIG: configPath, DOOM_OPS_STATE_DIR: stateDir, DOOM_OPS_LOG_LEVEL: 'error' };
  const compose = (args: string[], extra: Record<string, string> = {}) =>
    execa('docker-compose', ['-p', project, '-f', composeFile, ...args], {
      env: { ...process.env, ...env, ...extra },
      reject: false,
      timeout: 120_000,
    });

  const adapter = new DockerAdapter({ timeoutMs: 15_000 });
  let recorder: EventRecorder | undefined;
  if (s.recorder) {
    recorder = new EventRecorder({
      docker: adapter,
      store: EventStore.forProject(stateDir, project, 16 * 1024 * 1024),
      project,
      logger: createLogger('silent'),
    });
    await recorder.start();
  }

  const result: ScenarioResult = {
    name: s.name,
    kind: s.kind,
    title: s.title,
    checks: [],
    errors: [],
    seconds: 0,
  };
  const deadline = started + s.timeout;
  try {
    for (const st of s.steps) {
      if (Date.now() > deadline) throw new Error(`scenario timed out after ${s.timeout} ms`);
      await runStep(st, {
        s,
        project,
        env,
        compose,
        sinceS: Math.floor(started / 1000) - 1,
        onCheck: async (c) => {
          result.checks.push(await runCheck(withEnv(c, env), project, cliEnv));
        },
      });
    }
  } catch (err) {
    result.errors.push((err as Error).message);
  } finally {
    await recorder?.stop();
    await compose(['down', '-v', '--remove-orphans', '-t', '1']);
    for (const srv of servers) srv.close();
    rmSync(work, { recursive: true, force: true });
  }
  result.seconds = Math.round((Date.now() - started) / 1000);
  return result;
}

interface StepEnv {
  s: Scenario;
  project: string;
  env: Record<string, string>;
  compose: (
    args: string[],
    env?: Record<string, string>,
  ) => Promise<{ exitCode?: number; stdout: string; stderr: string }>;
  sinceS: number;
  onCheck: (c: ScenarioCheck) => Promise<void>;
}

async function runStep(st: Step, e: StepEnv): Promise<void> {
  if ('up' in st) {
    const args = ['up', ...(st.up.noStart ? ['--no-start'] : ['-d']), ...(st.up.services ?? [])];
    const r = await e.compose(args);
    if (r.exitCode !== 0 && !st.up.mayFail)
      throw new Error(`docker-compose ${args.join(' ')} failed: ${r.stderr.trim().slice(-500)}`);
  } else if ('compose' in st) {
    await e.compose(st.compose, st.env);
  } else if ('script' in st) {
    const r = await execa('bash', [join(e.s.dir, st.script)], {
      env: { ...process.env, ...e.env },
      reject: false,
      timeout: 120_000,
    });
    if (r.exitCode !== 0)
      throw new Error(`${st.script} exited ${r.exitCode}: ${r.stderr.trim().slice(-500)}`);
  } else if ('exec' in st) {
    const c = await containerOf(e.project, st.exec.service, st.exec.number);
    const x = await docker
      .getContainer(c.Id)
      .exec({ Cmd: st.exec.argv, AttachStdout: true, AttachStderr: true });
    const stream = await x.start({});
    stream.resume();
    await new Promise((r) => stream.on('end', r));
  } else if ('flood' in st) {
    await flood(e.project, st.flood);
  } else if ('wait' in st) {
    await waitUntil(st.wait, e);
  } else if ('sleep' in st) {
    await new Promise((r) => setTimeout(r, st.sleep));
  } else {
    await e.onCheck(st.check);
  }
}

/** Engine events (volume create + remove of volumes named after the project), 2 per pair. */
async function flood(project: string, events: number): Promise<void> {
  const pairs = Math.ceil(events / 2);
  let next = 0;
  const worker = async () => {
    while (next < pairs) {
      const name = `${project}-flood-${next++}`;
      await docker.createVolume({ Name: name });
      await docker.getVolume(name).remove();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

function meets(value: unknown, want: z.output<typeof expectation>): boolean {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    const n = typeof value === 'number' ? value : Number.NaN;
    if ('atLeast' in want) return n >= want.atLeast;
    return n <= want.atMost;
  }
  if (Array.isArray(want)) return JSON.stringify(value) === JSON.stringify(want);
  if (typeof want === 'string' && want.length > 2 && want.startsWith('/') && want.endsWith('/'))
    return new RegExp(want.slice(1, -1), 'i').test(String(value));
  return value === want;
}

async function waitUntil(w: z.output<typeof waitFor>, e: StepEnv): Promise<void> {
  const deadline = Date.now() + w.timeout;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const c = await containerOf(e.project, w.service, w.number);
      const why: string[] = [];
      if (w.state && c.State.Status !== w.state) why.push(`state ${c.State.Status}`);
      if (w.health && c.State.Health?.Status !== w.health) why.push(`health ${c.State.Health?.Status}`);
      if (w.restartCount !== undefined && !meets(c.RestartCount, w.restartCount))
        why.push(`RestartCount ${c.RestartCount}`);
      if (w.exitCode !== undefined && c.State.ExitCode !== w.exitCode) why.push(`exit ${c.State.ExitCode}`);
      if (w.oomEvents !== undefined || w.events) {
        const action = w.events?.action ?? 'oom';
        const n = await countEvents(e, w.service, action);
        if (!meets(n, w.events?.count ?? w.oomEvents!)) why.push(`${n} ${action} events`);
      }
      if (w.pids !== undefined) {
        const s = (await docker.getContainer(c.Id).stats({ stream: false })) as {
          pids_stats?: { current?: number };
        };
        if (!meets(s.pids_stats?.current ?? 0, w.pids)) why.push(`pids ${s.pids_stats?.current}`);
      }
      if (w.logs) {
        const buf = (await docker
          .getContainer(c.Id)
          .logs({ stdout: true, stderr: true, tail: 200 })) as unknown as Buffer;
        if (!new RegExp(w.logs, 'i').test(buf.toString('utf8'))) why.push('logs do not match yet');
      }
      if (why.length === 0) return;
      last = why.join(', ');
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`waiting for ${JSON.stringify(w)} timed out (${last})`);
}

async function countEvents(e: StepEnv, service: string, action: string): Promise<number> {
  const stream = (await docker.getEvents({
    since: e.sinceS,
    until: Math.ceil(Date.now() / 1000),
    filters: {
      type: ['container'],
      event: [action],
      label: [`com.docker.compose.project=${e.project}`, `com.docker.compose.service=${service}`],
    },
  })) as unknown as AsyncIterable<Buffer>;
  let text = '';
  for await (const chunk of stream) text += chunk.toString('utf8');
  return text.split('\n').filter((l) => l.trim()).length;
}

/** Reads `a.b[key=value].c`, `list[0]`, `list.length` out of a JSON value. */
export function jsonPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.match(/[^.[\]]+|\[[^\]]*\]/g) ?? []) {
    if (cur === undefined || cur === null) return undefined;
    if (part.startsWith('[')) {
      const inner = part.slice(1, -1);
      const eq = inner.indexOf('=');
      if (!Array.isArray(cur)) return undefined;
      cur =
        eq === -1
          ? cur.at(Number(inner))
          : cur.find(
              (x) => String((x as Record<string, unknown>)?.[inner.slice(0, eq)]) === inner.slice(eq + 1),
            );
    } else if (part === 'length' && Array.isArray(cur)) cur = cur.length;
    else cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function textMatches(text: string, fact: string): boolean {
  if (fact.length > 2 && fact.startsWith('/') && fact.endsWith('/'))
    return new RegExp(fact.slice(1, -1), 'i').test(text);
  return text.toLowerCase().includes(fact.toLowerCase());
}

async function runCheck(
  c: ScenarioCheck,
  project: string,
  env: Record<string, string>,
): Promise<CheckResult> {
  const failures: string[] = [];
  const args = [...c.run, '--project', project];
  const text = await cli(args, env, c.timeout);
  const said = `${text.stdout}\n${text.stderr}`;
  if (c.exit !== undefined && text.exitCode !== c.exit)
    failures.push(`exit ${text.exitCode}, expected ${c.exit}`);
  for (const f of c.says) if (!textMatches(said, f)) failures.push(`does not say ${JSON.stringify(f)}`);
  for (const f of c.never) if (textMatches(said, f)) failures.push(`says ${JSON.stringify(f)}`);
  if (c.json) {
    const j = await cli([...args, '--json'], env, c.timeout);
    let out: unknown;
    try {
      out = JSON.parse(j.stdout);
    } catch {
      failures.push(`--json output is not JSON (exit ${j.exitCode}): ${j.stderr.slice(0, 300)}`);
    }
    if (out !== undefined)
      for (const [path, want] of Object.entries(c.json)) {
        const got = jsonPath(out, path);
        if (!meets(got, want))
          failures.push(`${path} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
  }
  if (failures.length) failures.push(`output of doom-ops ${c.run.join(' ')}:\n${said.trim().slice(0, 3000)}`);
  return { name: c.name, ok: failures.length === 0, failures };
}

/** The score table `npm run scenarios` prints and the README quotes. */
export function scoreTable(results: ScenarioResult[]): string {
  const sorted = [...results].sort((a, b) => a.name.localeCompare(b.name));
  const rows = sorted.map((r) => {
    const passed = r.checks.filter((c) => c.ok).length;
    return `| ${r.name} | ${r.kind} | ${passed}/${r.checks.length}${r.errors.length ? ' (setup failed)' : ''} | ${right(r) ? 'right' : 'WRONG'} |`;
  });
  const ok = sorted.filter(right).length;
  return [
    '| scenario | kind | checks | diagnosis |',
    '|---|---|---|---|',
    ...rows,
    '',
    `${ok} of ${sorted.length} diagnosed right`,
  ].join('\n');
}
