import type { Command } from 'commander';
import { type CommonOptions, num } from '../options.js';
import { common, runTool } from './common.js';

type Opts = CommonOptions & { force?: boolean };

/** Write and destructive commands; destructive ones show their plan and ask (or take --yes). */
export function mutationCommands(program: Command): void {
  common(
    program
      .command('scale')
      .description("set a service's replica count (drains before removing; --force needs approval)")
      .argument('<service>', 'Compose service name')
      .argument('<replicas>', 'wanted number of replicas')
      .option('--force', 'remove replicas even if their drain fails (destructive)')
      .option('-y, --yes', 'approve the plan of a destructive action without the prompt'),
  ).action(async (service: string, replicas: string, opts: Opts) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/scaling/scale-service.js')).scaleService,
        render: (await import('../../render/mutations.js')).renderScale,
      }),
      { service, replicas: num(replicas), force: opts.force },
      opts,
    );
  });

  common(
    program
      .command('scale-agents')
      .description(
        'set the number of agents within the configured min/max (default 2..10), or the count for a training generation (--generation)',
      )
      .argument('[replicas]', 'wanted number of agents')
      .option('--generation <n>', 'the training generation: the count comes from scaling.generations')
      .option('--force', 'remove agents even if their drain fails (destructive)')
      .option('-y, --yes', 'approve the plan of a destructive action without the prompt'),
  ).action(async (replicas: string | undefined, opts: Opts & { generation?: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/scaling/scale-agents.js')).scaleAgents,
        render: (await import('../../render/mutations.js')).renderScale,
      }),
      { replicas: num(replicas), generation: num(opts.generation), force: opts.force },
      opts,
    );
  });

  common(
    program
      .command('restart')
      .description('gracefully restart a service and wait for it to be healthy (destructive: asks first)')
      .argument('<service>', 'Compose service name')
      .option('--replica <n>', 'only this replica')
      .option('--stop-timeout <s>', 'seconds between SIGTERM and SIGKILL')
      .option('-y, --yes', 'approve the plan without the prompt'),
  ).action(async (service: string, opts: Opts & { replica?: string; stopTimeout?: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/lifecycle/restart-service.js')).restartService,
        render: (await import('../../render/mutations.js')).renderRestart,
      }),
      { service, replica: num(opts.replica), stopTimeout: num(opts.stopTimeout) },
      opts,
    );
  });

  common(
    program
      .command('audit')
      .description('recent audit entries (write/destructive calls and approval decisions)')
      .option('--tool <name>', 'only this tool')
      .option('--principal <id>', 'only this principal')
      .option('--limit <n>', 'newest N entries', '50'),
  ).action(async (opts: CommonOptions & { tool?: string; principal?: string; limit: string }) => {
    process.exitCode = await runTool(
      async () => ({
        tool: (await import('../../tools/admin/audit-log.js')).auditLog,
        render: (await import('../../render/mutations.js')).renderAudit,
      }),
      { tool: opts.tool, principal: opts.principal, limit: num(opts.limit) },
      opts,
    );
  });
}

export function updateCommand(program: Command): void {
  common(
    program
      .command('update')
      .description(
        'recreate a service on a new image (destructive: plan and approval); zero-downtime for stateless services with a healthcheck; rolls back automatically',
      )
      .argument('<service>', 'Compose service')
      .argument('<image>', 'new image reference')
      .option('--timeout <duration>', 'how long the new container has to become healthy (default 60s)')
      .option('-y, --yes', 'approve the plan without the prompt'),
  ).action(
    async (service: string, image: string, opts: CommonOptions & { timeout?: string; yes?: boolean }) => {
      process.exitCode = await runTool(
        async () => ({
          tool: (await import('../../tools/lifecycle/update-service.js')).updateService,
          render: (await import('../../render/mutations.js')).renderUpdate,
        }),
        { service, image, timeout: opts.timeout },
        opts,
        (o) => (o.ok ? 0 : 1),
      );
    },
  );
}
