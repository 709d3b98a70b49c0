import { z } from 'zod';
import { serviceName } from '../../config/schema.js';
import { ToolError } from '../../errors.js';
import { runbooks } from '../../runbooks/index.js';
import { defineTool } from '../define-tool.js';
import { invokeTool } from '../invoke.js';
import { hostField, portField } from '../lib/fields.js';

const finding = z.object({
  severity: z.enum(['critical', 'warning', 'info']),
  title: z.string(),
  explanation: z.string(),
  evidence: z.array(z.string()),
});

export const listRunbooks = defineTool({
  name: 'list_runbooks',
  title: 'List troubleshooting runbooks',
  description:
    'The troubleshooting flows run_runbook can run, each with the symptom it is for and whether it needs a service.',
  summary:
    'Call before run_runbook to pick a flow. Returns the troubleshooting runbooks, each with the symptom ' +
    'it is for and whether it needs a service.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({}),
  output: z.object({
    runbooks: z.array(
      z.object({ id: z.string(), title: z.string(), description: z.string(), needsService: z.boolean() }),
    ),
  }),
  async run() {
    return {
      runbooks: runbooks.map((r) => ({
        id: r.id,
        title: r.title,
        description: r.description,
        needsService: r.needsService,
      })),
    };
  },
});

export const runRunbook = defineTool({
  name: 'run_runbook',
  title: 'Run a troubleshooting runbook',
  description:
    'Runs one troubleshooting flow (see list_runbooks) as a sequence of read-only tool calls and returns findings ' +
    '(severity, explanation, evidence) and recommended actions. Recommended actions that change the stack still ' +
    'go through their own tools and approvals.',
  summary:
    'Use to troubleshoot a known symptom (see list_runbooks) in one call. Runs read-only checks and ' +
    'returns findings with evidence and recommended actions; changes nothing.',
  risk: 'read',
  callsTools: true,
  idempotent: true,
  input: z.object({
    id: z.string().max(64).describe('Runbook id from list_runbooks, e.g. restart-loop'),
    service: serviceName.optional().describe('The service to investigate (required by most runbooks)'),
    target: hostField
      .optional()
      .describe(
        'network-connectivity only: the service or host the service should reach (default: its dependencies)',
      ),
    port: portField.optional().describe('network-connectivity only: TCP port of the target'),
  }),
  output: z.object({
    runbook: z.string(),
    service: z.string().nullable(),
    steps: z.array(z.object({ tool: z.string(), ok: z.boolean(), error: z.string().nullable() })),
    findings: z.array(finding),
    actions: z.array(z.string()),
  }),
  async run(ctx, input) {
    const rb = runbooks.find((r) => r.id === input.id);
    if (!rb)
      throw new ToolError('not_found', `no runbook "${input.id}"`, {
        hint: `runbooks: ${runbooks.map((r) => r.id).join(', ')}`,
      });
    if (rb.needsService && !input.service)
      throw new ToolError(
        'invalid_input',
        `invalid input for run_runbook: service: required by runbook ${rb.id}`,
      );
    const steps: Array<{ tool: string; ok: boolean; error: string | null }> = [];
    // Runbooks reach the stack only through read tools of the registry.
    const call = async (name: string, args: Record<string, unknown>) => {
      const tool = ctx.tools.find((t) => t.name === name);
      if (tool?.risk !== 'read') throw new Error(`runbook ${rb.id} may only call read tools, not ${name}`);
      try {
        const out = (await invokeTool(tool, ctx, args)) as Record<string, unknown>;
        steps.push({ tool: name, ok: true, error: null });
        return out;
      } catch (err) {
        steps.push({ tool: name, ok: false, error: (err as Error).message });
        throw err;
      }
    };
    const results = await rb.run(call, input.service, { target: input.target, port: input.port });
    return {
      runbook: rb.id,
      service: input.service ?? null,
      steps,
      findings: results.flatMap((r) => r.findings),
      actions: [...new Set(results.flatMap((r) => r.actions))],
    };
  },
});
