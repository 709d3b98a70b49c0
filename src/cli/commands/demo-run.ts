import { join } from 'node:path';
import { execa } from 'execa';
import { compose } from '../../adapters/compose/cli.js';
import { packageRoot } from '../../config/load.js';
import { createLogger } from '../../logger.js';
import { renderHealth } from '../../render/health.js';
import { renderLogs } from '../../render/logs.js';
import { renderStats } from '../../render/stats.js';
import { invokeTool } from '../../tools/invoke.js';
import { serviceLogs } from '../../tools/service-logs.js';
import { serviceStats } from '../../tools/service-stats.js';
import { stackHealth } from '../../tools/stack-health.js';
import { sleep } from '../../util/concurrency.js';
import { cliContext, EXIT, interruptSignal, reportError } from '../runtime.js';

export async function runDemo(opts: { project: string; down?: boolean }): Promise<number> {
  const logger = createLogger();
  const say = (line: string): boolean => process.stderr.write(`${line}\n`);
  try {
    const root = packageRoot();
    const file = join(root, 'test', 'stack', 'docker-compose.yml');
    const ctx = cliContext({ project: opts.project }, interruptSignal(), logger);
    await ctx.docker.version(ctx.signal); // fail early, naming the engine, if none answers
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
    await compose(opts.project, [file], ['up', '-d']);

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
        `  node dist/src/cli/main.js demo --down   # remove it\n`,
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
