import type { Command } from 'commander';
import { renderHealth } from '../../render/health.js';
import { renderSmoke } from '../../render/smoke.js';
import { renderStackDown, renderStackUp } from '../../render/stack-up.js';
import { smokeTest } from '../../tools/health/smoke-test.js';
import { stackHealth } from '../../tools/health/stack-health.js';
import { stackDown } from '../../tools/lifecycle/stack-down.js';
import { stackUp } from '../../tools/lifecycle/stack-up.js';
import { type CommonOptions, EXIT, runToolCommand } from '../runtime.js';
import { common } from './common.js';

export function healthCommand(program: Command): void {
  common(
    program
      .command('health')
      .description('health of every expected service, with one verdict (exit 1 unless healthy)')
      .argument('[service]', 'only this service')
      .option('--no-deep', 'skip the configured deep checks'),
  ).action(async (service: string | undefined, opts: CommonOptions & { deep: boolean }) => {
    process.exitCode = await runToolCommand(
      stackHealth,
      { service, deep: opts.deep },
      opts,
      renderHealth,
      (out) => (out.verdict === 'healthy' ? EXIT.ok : EXIT.failed),
    );
  });
}

export function smokeCommand(program: Command): void {
  common(
    program
      .command('smoke')
      .description(
        "the handbook's smoke tests (smoke.probes): each probe's pass/fail and latency; exit 1 on a failure",
      )
      .argument('[probes...]', 'only these probe names'),
  ).action(async (only: string[], opts: CommonOptions) => {
    process.exitCode = await runToolCommand(
      smokeTest,
      { only: only.length ? only : undefined },
      opts,
      renderSmoke,
      (o) => (o.ok ? 0 : 1),
    );
  });
}

export function upCommand(program: Command): void {
  common(
    program
      .command('up')
      .description(
        'compose up -d from the configured files (or base + an overlay), wait until every service is healthy, run the smoke tests',
      )
      .option('--overlay <name>', 'prod | dev | gpu: base file plus docker-compose.<overlay>.yml')
      .option('--timeout <duration>', 'how long to wait for health (default 2m)')
      .option('--no-smoke', 'skip the smoke tests'),
  ).action(async (opts: CommonOptions & { overlay?: string; timeout?: string; smoke: boolean }) => {
    process.exitCode = await runToolCommand(
      stackUp,
      { overlay: opts.overlay, timeout: opts.timeout, smoke: opts.smoke },
      opts,
      renderStackUp,
      (o) => (o.ready && ((o.smoke as { ok?: boolean } | null)?.ok ?? true) ? 0 : 1),
    );
  });
}

export function downCommand(program: Command): void {
  common(
    program
      .command('down')
      .description(
        'graceful shutdown (destructive: shows the plan and asks): stop accepting work, wait for in-flight episodes, checkpoint DuckDB, flush OpenSearch, fsync MongoDB, stop dependents first; volumes kept',
      )
      .option('--force', 'stop the services even when a drain or flush step failed')
      .option('-y, --yes', 'approve the plan without the prompt'),
  ).action(async (opts: CommonOptions & { force?: boolean; yes?: boolean }) => {
    process.exitCode = await runToolCommand(stackDown, { force: Boolean(opts.force) }, opts, renderStackDown);
  });
}
