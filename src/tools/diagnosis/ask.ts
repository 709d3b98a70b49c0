import { z } from 'zod';
import { askModel, ModelFailure, type ModelTool, type UsedEvidence } from '../../ask/llm.js';
import { answerWithRouter, KNOWN_QUESTIONS } from '../../ask/router.js';
import { ToolError } from '../../errors.js';
import { renderText } from '../../render/text.js';
import { verdictOf } from '../../render/verdict.js';
import { redact } from '../../safety/redact.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { invokeTool } from '../invoke.js';
import { projectSecrets } from '../lib/secrets.js';

const evidenceItem = z.object({
  tool: z.string(),
  input: z.record(z.string(), z.unknown()),
  output: z.unknown(),
});

/** "explain_restarts(service=orchestrator): oom_killed — orchestrator was killed …" */
export function cite(e: UsedEvidence): string {
  const { verdict, summary } = verdictOf(e.output);
  const key = [verdict, summary].filter(Boolean).join(' — ');
  const args = Object.entries(e.input)
    .map(([k, val]) => `${k}=${typeof val === 'string' ? val : JSON.stringify(val)}`)
    .join(', ');
  return `${e.tool}(${args})${key ? `: ${key}` : ''}`;
}

/** Read-only tools the question may use (ask itself excluded), as the model sees them. */
function readTools(ctx: ToolContext): ModelTool[] {
  return ctx.tools
    .filter((t) => t.risk === 'read' && t.name !== 'ask' && t.name !== 'get_approval')
    .map((t) => ({
      name: t.name,
      description: t.description,
      parameters: z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    }));
}

async function stackFacts(ctx: ToolContext): Promise<{ services: string[]; secrets: string[] }> {
  const stack = await ctx.docker.listStack(ctx.project, ctx.signal);
  const details = await ctx.docker.inspectMany(
    stack.map((c) => c.id),
    ctx.signal,
  );
  return {
    services: [...new Set([...Object.keys(ctx.config.services), ...stack.map((c) => c.service)])].sort(),
    secrets: await projectSecrets(ctx, details),
  };
}

export const askTool = defineTool({
  name: 'ask',
  title: 'Ask about the stack',
  description:
    'Answers an on-call question ("why did orchestrator restart?", "who is eating the memory?", "is the stack healthy?", ' +
    '"any errors in nats?") from tool evidence. Known intents are routed to one read-only tool; with OLLAMA_HOST and ' +
    'OLLAMA_MODEL set, a language model chooses among the read-only tools and phrases the answer, citing the evidence. ' +
    'It can never change anything: actions are only suggested, for a human to start through the approval path.',
  summary:
    'Use for a free-form on-call question about the stack. Routes it to read-only tools and returns an ' +
    'answer citing their evidence; it never changes anything.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  // Calls the read tools through ctx.tools.
  callsTools: true,
  // Its refusals are audited under the caller's name: never shared between callers.
  perCaller: true,
  idempotent: true,
  input: z.object({
    question: z.string().min(1).max(2000).describe('The question, in plain words'),
  }),
  output: z.object({
    question: z.string(),
    via: z.enum(['router', 'model', 'router_fallback']).describe('who built the answer'),
    answer: z.string(),
    intent: z.string().nullable().describe('the router intent, when the router answered'),
    clarify: z.string().nullable().describe('a question back, when a service name was ambiguous or missing'),
    evidence: z.array(evidenceItem).describe('each tool call the answer rests on, with its output'),
    refused: z
      .array(z.object({ tool: z.string(), input: z.unknown() }))
      .describe('tool calls the model asked for and was refused'),
    note: z.string().nullable(),
  }),
  async run(ctx, input) {
    const { services, secrets } = await stackFacts(ctx);
    const call = async (name: string, args: Record<string, unknown>) => {
      const tool = ctx.tools.find((t) => t.name === name);
      if (tool?.risk !== 'read' || name === 'ask')
        throw new ToolError('not_allowed', `${name} is not a read-only tool; ask only reads`);
      return invokeTool(tool, ctx, args);
    };
    const router = async (note: string | null) => {
      const a = await answerWithRouter(call, services, input.question);
      const r = a.route;
      const base = { question: input.question, refused: [], note };
      const via = note ? ('router_fallback' as const) : ('router' as const);
      if (r.kind === 'clarify')
        return { ...base, via, answer: r.question, intent: r.intent, clarify: r.question, evidence: [] };
      if (r.kind === 'unknown')
        return {
          ...base,
          via,
          intent: null,
          clarify: null,
          evidence: [],
          answer: `I cannot route that question. I can answer questions like: ${KNOWN_QUESTIONS.join('; ')}.`,
        };
      const evidence = [{ tool: r.tool, input: r.input, output: a.evidence }];
      return {
        ...base,
        via,
        intent: r.intent,
        clarify: null,
        evidence,
        answer: `${renderText(r.tool, a.evidence)}\n\nevidence: ${cite(evidence[0]!)}`,
      };
    };

    const { host, model } = ctx.config.ollama;
    if (!host || !model) return router(null);
    try {
      const m = await askModel(input.question, {
        host,
        model,
        timeoutMs: ctx.config.ollama.timeout,
        maxSteps: ctx.config.ollama.maxSteps,
        maxToolChars: ctx.config.ollama.maxToolChars,
        tools: readTools(ctx),
        call,
        redact: (t) => redact(t, secrets),
        signal: ctx.signal,
        onRefused: (tool, args) =>
          ctx.safety.audit.append({
            event: 'refused',
            principal: ctx.principal.id,
            surface: ctx.principal.surface,
            tool,
            input: args,
            project: ctx.project,
            outcome: `the language model in ask asked for ${tool}; it is offered read-only tools only, nothing was run`,
          }),
      });
      const cites = m.evidence.map((e) => `- ${cite(e)}`);
      const refusals = m.refused.map(
        (r) =>
          `- the model asked to run ${r.tool}; refused (ask only reads). To do it, a human starts ${r.tool} through the approval path.`,
      );
      return {
        question: input.question,
        via: 'model' as const,
        answer: [
          redact(m.answer, secrets),
          ...(cites.length ? ['', 'evidence:', ...cites] : ['', 'evidence: none (the model called no tool)']),
          ...(refusals.length ? ['', 'refused:', ...refusals] : []),
        ].join('\n'),
        intent: null,
        clarify: null,
        evidence: m.evidence,
        refused: m.refused,
        note: null,
      };
    } catch (err) {
      if (!(err instanceof ModelFailure)) throw err;
      return router(`${err.message}; answered by the deterministic router instead`);
    }
  },
});
