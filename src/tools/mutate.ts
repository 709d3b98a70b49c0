import type { z } from 'zod';
import { ToolError } from '../errors.js';
import type { Plan } from '../safety/approvals.js';
import { refuseAll } from '../safety/approver.js';
import { assertRole, requiredRole } from '../safety/roles.js';
import type { ToolContext } from './context.js';
import type { AnyTool, Risk } from './define-tool.js';
import { projectSecrets } from './lib/secrets.js';

/**
 * The path of every non-read call (design.md §6): role check, then for destructive calls a plan
 * and a human approval, then the stack lock, a fresh plan compared with the approved one, the
 * run itself, and an audit entry at each step.
 */
export async function runMutation<T extends AnyTool>(
  tool: T,
  ctx: ToolContext,
  input: z.output<T['input']>,
  risk: Risk,
  run: () => Promise<z.output<T['output']>>,
): Promise<z.output<T['output']>> {
  const base = {
    principal: ctx.principal.id,
    surface: ctx.principal.surface,
    ...(ctx.principal.channel ? { channel: ctx.principal.channel } : {}),
    tool: tool.name,
    input,
    project: ctx.project,
  };
  const audit = ctx.safety.audit;
  const started = Date.now();
  // Learn the project's secrets first, so the audit log masks them in this call's input and plan
  // (an image or argument that carries a password). An engine that cannot answer: patterns only.
  await projectSecrets(ctx).catch(() => undefined);
  audit.append({ ...base, event: 'requested', outcome: risk });
  try {
    if (ctx.config.readOnly) {
      throw new ToolError(
        'not_allowed',
        `${tool.name} is not available: this doom-ops runs in read-only mode`,
        {
          hint: 'ask an operator to run it, or unset DOOM_OPS_READ_ONLY on a server allowed to change the stack',
        },
      );
    }
    assertRole(ctx.config, ctx.principal, requiredRole(risk), tool.name);
  } catch (err) {
    audit.append({ ...base, event: 'refused', outcome: (err as Error).message });
    throw err;
  }

  let approvedPlan: string | undefined;
  if (risk === 'destructive') {
    if (!tool.plan) throw new Error(`${tool.name} is destructive but has no plan()`);
    let plan: Plan;
    try {
      plan = await tool.plan(ctx, input);
    } catch (err) {
      // Refused while planning (a service Compose cannot scale, a backup that failed verification…).
      audit.append({ ...base, event: 'refused', outcome: (err as Error).message });
      throw err;
    }
    const decision = await (ctx.approver ?? refuseAll)({
      tool: tool.name,
      input,
      plan,
      principal: ctx.principal,
      project: ctx.project,
    });
    if (!decision.approved) {
      audit.append({ ...base, event: 'refused', plan, outcome: decision.reason });
      throw new ToolError(decision.code ?? 'not_allowed', decision.reason, { hint: decision.hint });
    }
    audit.append({
      ...base,
      event: 'approved',
      plan,
      approver: decision.approver,
      via: decision.via,
      approvalId: decision.approvalId,
    });
    approvedPlan = plan.fingerprint;
  }

  let release: () => void;
  try {
    release = await ctx.safety.lock.acquire(ctx.project, tool.name, ctx.principal.id, {
      waitMs: tool.lockWaitMs,
      signal: ctx.signal,
      onWait: (busy) => ctx.progress({ progress: 0, message: `waiting: ${busy}` }),
    });
  } catch (err) {
    audit.append({ ...base, event: 'refused', outcome: (err as Error).message });
    throw err;
  }
  try {
    // Judged a plain change before the lock: another change may have made it one that needs a
    // human since (a scale-down another caller's scale-up turned into one below the minimum).
    if (
      risk !== 'destructive' &&
      tool.effectiveRisk &&
      (await tool.effectiveRisk(input, ctx)) === 'destructive'
    )
      throw new ToolError(
        'conflict',
        `${tool.name}: the stack changed while this call waited, and it now needs a human approval; nothing was done`,
        { hint: 'make the request again: it will ask for the approval' },
      );
    if (approvedPlan !== undefined && tool.plan) {
      // The world may have moved between approval and now: never execute a stale plan.
      const fresh = await tool.plan(ctx, input);
      if (fresh.fingerprint !== approvedPlan) {
        throw new ToolError(
          'conflict',
          `${tool.name}: the approved plan is stale (the stack changed since it was approved); nothing was done`,
          {
            hint: 'make the request again to get a fresh plan',
          },
        );
      }
    }
    audit.append({ ...base, event: 'started' });
    const out = await run();
    audit.append({ ...base, event: 'succeeded', durationMs: Date.now() - started, outcome: 'ok' });
    return out;
  } catch (err) {
    audit.append({
      ...base,
      event: 'failed',
      durationMs: Date.now() - started,
      outcome: (err as Error).message,
    });
    throw err;
  } finally {
    release();
  }
}
