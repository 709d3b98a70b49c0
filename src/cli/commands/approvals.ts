import type { Command } from 'commander';
import type { ApprovalRecord } from '../../safety/approvals.js';
import { type CommonOptions, EXIT } from '../options.js';
import { common } from './common.js';

async function show(r: ApprovalRecord): Promise<string> {
  const [{ planText }, { renderText }, { indent }] = await Promise.all([
    import('../../safety/approver.js'),
    import('../../render/text.js'),
    import('../../render/troubleshoot.js'),
  ]);
  const lines = [
    `${r.id}: ${r.status}${r.decidedBy ? ` (by ${r.decidedBy}${r.decidedVia ? ` via ${r.decidedVia}` : ''})` : ''}`,
    planText({ tool: r.tool, plan: r.plan, principal: { id: r.requester } }),
  ];
  if (r.error) lines.push(`error: ${r.error}`);
  // The outcome as the tool's own text (what the requester would have seen), never raw JSON.
  if (r.result !== undefined) lines.push('result:', indent(renderText(r.tool, r.result)));
  return lines.join('\n');
}

/** Out-of-band human approval for requests that could not ask (e.g. MCP clients without elicitation). */
export function approvalCommands(program: Command): void {
  common(
    program
      .command('approvals')
      .description('approval requests (pending first)')
      .option('--all', 'include decided and expired ones'),
  ).action(async (opts: CommonOptions & { all?: boolean }) => {
    const [{ createLogger }, { cliContext, interruptSignal, reportError }, { table }] = await Promise.all([
      import('../../logger.js'),
      import('../runtime.js'),
      import('../../render/table.js'),
    ]);
    const logger = createLogger();
    try {
      const ctx = cliContext(opts, interruptSignal(), logger);
      const list = ctx.safety.approvals.list().filter((r) => opts.all || r.status === 'pending');
      process.stdout.write(
        `${
          opts.json
            ? JSON.stringify(list, null, 2)
            : list.length
              ? table(
                  ['ID', 'STATUS', 'TOOL', 'REQUESTER', 'EXPIRES', 'PLAN'],
                  list.map((r) => [r.id, r.status, r.tool, r.requester, r.expiresAt, r.plan.summary]),
                  70,
                )
              : 'no pending approvals'
        }\n`,
      );
      process.exitCode = EXIT.ok;
    } catch (err) {
      process.exitCode = reportError(err, opts, logger);
    }
  });

  for (const [name, approve] of [
    ['approve', true],
    ['deny', false],
  ] as const) {
    common(
      program
        .command(name)
        .description(
          approve ? 'approve a pending request and run it now (approver role)' : 'deny a pending request',
        )
        .argument('<id>', 'approval id, e.g. apr_0123456789ab'),
    ).action(async (id: string, opts: CommonOptions) => {
      const [
        { createLogger },
        { cliContext, interruptSignal, reportError },
        { decideApproval },
        { registry },
      ] = await Promise.all([
        import('../../logger.js'),
        import('../runtime.js'),
        import('../../tools/approve.js'),
        // Approving runs the approved request, whichever tool it is (composite ones included).
        import('../../tools/registry.js'),
      ]);
      const logger = createLogger();
      try {
        const ctx = cliContext(opts, interruptSignal(), logger, registry);
        const record = await decideApproval(ctx, id, approve, 'doom-ops approve');
        process.stdout.write(`${opts.json ? JSON.stringify(record, null, 2) : await show(record)}\n`);
        process.exitCode = record.status === 'done' || record.status === 'denied' ? EXIT.ok : EXIT.failed;
      } catch (err) {
        process.exitCode = reportError(err, opts, logger);
      }
    });
  }
}
