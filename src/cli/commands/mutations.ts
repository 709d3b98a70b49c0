import type { Command } from 'commander';
import { renderUpdate } from '../../render/mutations.js';
import { renderText } from '../../render/text.js';
import { auditLog } from '../../tools/admin/audit-log.js';
import { restartService } from '../../tools/lifecycle/restart-service.js';
import { updateService } from '../../tools/lifecycle/update-service.js';
import { scaleAgents } from '../../tools/scaling/scale-agents.js';
import { scaleService } from '../../tools/scaling/scale-service.js';
import { type CommonOptions, num, runToolCommand } from '../runtime.js';
import { common } from './common.js';

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
    process.exitCode = await runToolCommand(
      scaleService,
      { service, replicas: num(replicas), force: opts.force },
      opts,
      (o) => renderText('scale_service', o),
    );
  });

  common(
    program
      .command('scale-agents')
      .description('set the number of agents within the configured min/max (default 2..10)')
      .argument('<replicas>', 'wanted number of agents')
      .option('--force', 'remove agents even if their drain fails (destructive)')
      .option('-y, --yes', 'approve the plan of a destructive action without the prompt'),
  ).action(async (replicas: string, opts: Opts) => {
    process.exitCode = await runToolCommand(
      scaleAgents,
      { replicas: num(replicas), force: opts.force },
      opts,
      (o) => renderText('scale_agents', o),
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
    process.exitCode = await runToolCommand(
      restartService,
      { service, replica: num(opts.replica), stopTimeout: num(opts.stopTimeout) },
      opts,
      (o) => renderText('restart_service', o),
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
    process.exitCode = await runToolCommand(
      auditLog,
      { tool: opts.tool, principal: opts.principal, limit: num(opts.limit) },
      opts,
      (o) => renderText('audit_log', o),
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
      process.exitCode = await runToolCommand(
        updateService,
        { service, image, timeout: opts.timeout },
        opts,
        renderUpdate,
        (o) => (o.ok ? 0 : 1),
      );
    },
  );
}
