import type { Command } from 'commander';
import { createLogger } from '../../logger.js';
import { planText } from '../../mcp/approver.js';
import { table } from '../../render/table.js';
import { renderText } from '../../render/text.js';
import { indent } from '../../render/troubleshoot.js';
import type { ApprovalRecord } from '../../safety/approvals.js';
import { decideApproval } from '../../tools/approve.js';
import { type CommonOptions, cliContext, EXIT, interruptSignal, reportError } from '../runtime.js';
import { common } from './common.js';

function show(r: ApprovalRecord): string {
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
      const logger = createLogger();
      try {
        const ctx = cliContext(opts, interruptSignal(), logger);
        const record = await decideApproval(ctx, id, approve, 'doom-ops approve');
        process.stdout.write(`${opts.json ? JSON.stringify(record, null, 2) : show(record)}\n`);
        process.exitCode = record.status === 'done' || record.status === 'denied' ? EXIT.ok : EXIT.failed;
      } catch (err) {
        process.exitCode = reportError(err, opts, logger);
      }
    });
  }
}
