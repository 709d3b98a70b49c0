import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { compose } from '../../adapters/compose/cli.js';
import type { DockerAdapter } from '../../adapters/docker/client.js';
import { projectResources } from '../../adapters/docker/project-resources.js';
import { packageRoot } from '../../config/load.js';
import { ToolError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { renderHealth } from '../../render/health.js';
import { renderLogs } from '../../render/logs.js';
import { renderStats } from '../../render/stats.js';
import { serviceStats } from '../../tools/diagnosis/service-stats.js';
import { stackHealth } from '../../tools/health/stack-health.js';
import { invokeTool } from '../../tools/invoke.js';
import { serviceLogs } from '../../tools/logs/service-logs.js';
import { sleep } from '../../util/concurrency.js';
import { EXIT } from '../options.js';
import { cliContext, interruptSignal, reportError } from '../runtime.js';
import { DEMO_PROJECT } from './demo.js';

export async function runDemo(opts: { project: string; down?: boolean }): Promise<number> {
  const logger = createLogger();
  const say = (line: string): boolean => process.stderr.write(`${line}\n`);
  try {
    const root = packageRoot();
    const file = join(root, 'test', 'stack', 'docker-compose.yml');
    const ctx = cliContext({ project: opts.project }, interruptSignal(), logger);
    await ctx.docker.version(ctx.signal); // fail early, naming the engine, if none answers
    // Only ever start or remove a project the demo made itself: never someone's stack of that name.
    const existing = await refuseForeignProject(
      ctx.docker,
      opts.project,
      opts.down ? 'remove' : 'start',
      ctx.signal,
    );
    if (opts.down && !existing) {
      say(`no demo stack ${opts.project} to remove: the project has no container, network or volume`);
      return EXIT.ok;
    }
    if (opts.down) {
      await compose(opts.project, [file], ['down', '-v', '--remove-orphans', '-t', '2']);
      say(`demo stack ${opts.project} removed`);
      return EXIT.ok;
    }
    say('building the test image (busybox-based, local only)…');
    await execa('bash', [join(root, 'test', 'stack', 'build-images.sh')], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    say(`starting demo stack ${opts.project} (${file})…`);
    const marks = await mkdtemp(join(tmpdir(), 'doom-ops-demo-'));
    try {
      const override = join(marks, 'demo-mark.yml');
      await writeFile(override, demoMarkOverride(file));
      await compose(opts.project, [file, override], ['up', '-d']);
    } finally {
      await rm(marks, { recursive: true, force: true });
    }

    say(
      'waiting for services to settle (the orchestrator is meant to OOM until its restart policy gives up)…',
    );
    let health = await invokeTool(stackHealth, ctx, {});
    for (let i = 0; i < 60 && !settled(health); i++) {
      await sleep(1000, ctx.signal);
      health = await invokeTool(stackHealth, ctx, {});
    }
    const out = (title: string, body: string): boolean => process.stdout.write(`\n== ${title}\n${body}\n`);
    out(`doom-ops health --project ${opts.project}`, renderHealth(health));
    out(`doom-ops stats --project ${opts.project}`, renderStats(await invokeTool(serviceStats, ctx, {})));
    out(
      `doom-ops logs orchestrator --level error --tail 5 --project ${opts.project}`,
      renderLogs(await invokeTool(serviceLogs, ctx, { service: 'orchestrator', level: 'error', tail: 5 })),
    );
    process.stdout.write(
      `\nThe demo stack keeps running. Try:\n  node dist/src/cli/main.js health --project ${opts.project} --json\n` +
        `  ${downHint(opts.project)}   # remove it\n`,
    );
  } catch (err) {
    return reportError(err, {}, logger);
  }
  return EXIT.ok;
}

/** Nothing still starting, restarting or being created: the picture will not change on its own. */
function settled(h: { services: Array<{ status: string; containers: Array<{ state: string }> }> }): boolean {
  return h.services.every(
    (s) =>
      s.status !== 'starting' && s.containers.every((c) => c.state !== 'restarting' && c.state !== 'created'),
  );
}

/** Label on every container, network and volume the demo creates: the demo's own projects only. */
export const DEMO_MARK = 'doom-ops.demo';

/** The command that removes the demo stack of `project` (the default project needs no --project). */
export function downHint(project: string): string {
  return `node dist/src/cli/main.js demo --down${project === DEMO_PROJECT ? '' : ` --project ${project}`}`;
}

/**
 * A Compose override that puts the demo's mark on every service, the default network and every
 * named volume of the stack file, so a later `demo` or `demo --down` knows the project is its own.
 */
export function demoMarkOverride(file: string): string {
  const stack = parseYaml(readFileSync(file, 'utf8')) as {
    services?: Record<string, unknown>;
    volumes?: Record<string, unknown>;
  };
  const labels = { [DEMO_MARK]: 'true' };
  return toYaml({
    services: Object.fromEntries(Object.keys(stack.services ?? {}).map((s) => [s, { labels }])),
    networks: { default: { labels } },
    volumes: Object.fromEntries(Object.keys(stack.volumes ?? {}).map((v) => [v, { labels }])),
  });
}

/**
 * Refuses to start or remove a Compose project that exists without the demo's mark: it is someone
 * else's stack (or a test's) that happens to have the name, and `compose up`/`down -v` would take
 * it over or delete its volumes. Returns how many resources the (demo's) project has.
 */
async function refuseForeignProject(
  docker: DockerAdapter,
  project: string,
  action: 'start' | 'remove',
  signal: AbortSignal,
): Promise<number> {
  const resources = await projectResources(docker, project, signal);
  // Containers recreated later (doom-ops up, docker-compose up) lose the mark; the project's
  // networks and volumes keep it, so a project whose other resources carry it is still the demo's.
  const demoMade = resources.some((r) => r.kind !== 'container' && r.labels[DEMO_MARK] === 'true');
  const foreign = resources.filter(
    (r) => r.labels[DEMO_MARK] !== 'true' && !(r.kind === 'container' && demoMade),
  );
  if (!foreign.length) return resources.length;
  const named = foreign
    .slice(0, 5)
    .map((r) => `${r.kind} ${r.name}`)
    .join(', ');
  throw new ToolError(
    'conflict',
    `will not ${action} the demo stack as project ${project}: that project already exists and the demo did not create it (${named}${foreign.length > 5 ? `, ${foreign.length - 5} more` : ''})`,
    {
      hint:
        action === 'start'
          ? `pick another name for the demo: doom-ops demo --project ${project}-2 (then remove it with doom-ops demo --down --project ${project}-2)`
          : `nothing was removed; remove a stack that is not the demo's with its own tools (e.g. docker-compose -p ${project} down)`,
    },
  );
}
