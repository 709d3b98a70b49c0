import type { DockerAdapter } from '../adapters/docker/client.js';
import type { Config, ScheduledJob } from '../config/schema.js';
import { isToolError } from '../errors.js';
import type { Logger } from '../logger.js';
import { renderText } from '../render/text.js';
import type { Approver } from '../safety/approver.js';
import type { Safety } from '../safety/index.js';
import { internalContext } from '../tools/context.js';
import { invokeTool } from '../tools/invoke.js';
import { findTool, registry } from '../tools/registry.js';
import type { ToolRunner } from '../tools/runner.js';
import type { StepResult } from './state.js';

export interface JobDeps {
  config: Config;
  docker: DockerAdapter;
  logger: Logger;
  safety: Safety;
  /** serve's bounded worker pool (tools/runner.ts): background calls wait for a worker like the others. */
  runner?: ToolRunner;
}

export interface StepOutput {
  tool: string;
  output: unknown;
}

/**
 * The approval a human gave in config (schedule.jobs[].approvedBy) for this job's own steps: it
 * approves exactly the configured tool and input, and names that human in the audit log.
 */
function configApproval(job: ScheduledJob): Approver {
  return async (req) => {
    if (!job.approvedBy)
      return {
        approved: false,
        code: 'approval_required',
        reason: `scheduled job ${job.name}: ${req.tool} is destructive and schedule.jobs[${job.name}].approvedBy is not set`,
      };
    return {
      approved: true,
      approver: `config:${job.approvedBy}`,
      via: `schedule.jobs[${job.name}].approvedBy`,
    };
  };
}

/** Runs a job's steps in order as principal schedule:<job>; a failed step ends the run. */
export async function runJobSteps(
  deps: JobDeps,
  job: ScheduledJob,
  signal: AbortSignal,
): Promise<{ ok: boolean; steps: StepResult[]; outputs: StepOutput[]; reason?: string }> {
  const steps: StepResult[] = [];
  const outputs: StepOutput[] = [];
  for (const step of job.steps) {
    const tool = findTool(step.tool)!;
    const ctx = internalContext(
      { ...deps, tools: registry },
      { id: `schedule:${job.name}`, display: `scheduled job ${job.name}` },
      signal,
      configApproval(job),
    );
    try {
      const output = await invokeTool(tool, ctx, step.input);
      outputs.push({ tool: step.tool, output });
      // A backup that saved only part of the stack (phase PartiallyFailed or Failed) fails the run,
      // so `report: failures` still tells someone.
      const phase = (output as { phase?: unknown }).phase;
      if (
        phase === 'PartiallyFailed' ||
        phase === 'Failed' ||
        (output as { restorable?: unknown }).restorable === false
      ) {
        const summary = summaryOf(step.tool, output);
        steps.push({ tool: step.tool, ok: false, summary });
        return { ok: false, steps, outputs, reason: `${step.tool}: ${summary}` };
      }
      steps.push({ tool: step.tool, ok: true, summary: summaryOf(step.tool, output) });
    } catch (err) {
      const reason = isToolError(err)
        ? `${err.message}${err.hint ? ` (${err.hint})` : ''}`
        : (err as Error).message;
      if (!isToolError(err))
        deps.logger.error({ err, job: job.name, tool: step.tool }, 'scheduled step failed');
      steps.push({ tool: step.tool, ok: false, summary: reason });
      return { ok: false, steps, outputs, reason: `${step.tool}: ${reason}` };
    }
  }
  return { ok: true, steps, outputs };
}

function summaryOf(tool: string, output: unknown): string {
  const s = (output as { summary?: unknown }).summary;
  if (typeof s === 'string' && s) return s;
  return renderText(tool, output).split('\n')[0] ?? tool;
}
