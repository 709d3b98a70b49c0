import type { Command } from 'commander';
import { type CommonOptions, EXIT } from '../options.js';
import { common, runTool } from './common.js';

export function healthCommand(program: Command): void {
  common(
    program
      .command('health')
      .description('health of every expected service, with one verdict (exit 1 unless healthy)')
      .argument('[service]', 'only this service')
      .option('--no-deep', 'skip the configured deep checks'),
  ).action(async (service: string | undefined, opts: CommonOptions & { deep: boolean }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/health/stack-health.js')).stackHealth,
        render: (await import('../../render/health.js')).renderHealth,
      }),
      { service, deep: opts.deep },
      opts,
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
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/health/smoke-test.js')).smokeTest,
        render: (await import('../../render/smoke.js')).renderSmoke,
      }),
      { only: only.length ? only : undefined },
      opts,
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
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/lifecycle/stack-up.js')).stackUp,
        render: (await import('../../render/stack-up.js')).renderStackUp,
      }),
      { overlay: opts.overlay, timeout: opts.timeout, smoke: opts.smoke },
      opts,
      (o) => (o.ready && ((o.smoke as { ok?: boolean } | null)?.ok ?? true) ? 0 : 1),
    );
  });
}

export function downCommand(program: Command): void {
  common(
    program
      .command('down')
      .description(
        'graceful shutdown (destructive: shows the plan and asks): stop accepting work, wait for in-flight episodes, wait for NATS JetStream acks (lifecycle.jetstream), checkpoint DuckDB, flush OpenSearch, fsync MongoDB, stop dependents first; volumes kept',
      )
      .option('--force', 'stop the services even when a drain or flush step failed')
      .option('-y, --yes', 'approve the plan without the prompt'),
  ).action(async (opts: CommonOptions & { force?: boolean; yes?: boolean }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/lifecycle/stack-down.js')).stackDown,
        render: (await import('../../render/stack-up.js')).renderStackDown,
      }),
      { force: Boolean(opts.force) },
      opts,
    );
  });
}
