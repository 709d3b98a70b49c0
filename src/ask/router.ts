/** What a question maps to: one read-only tool call, or a question back when a name is ambiguous. */
export type Route =
  | { kind: 'tool'; intent: string; tool: string; input: Record<string, unknown> }
  | { kind: 'clarify'; intent: string; question: string }
  | { kind: 'unknown'; question: string };

export interface RoutedAnswer {
  route: Route;
  /** The tool's structured output: the evidence the answer is built from. */
  evidence?: unknown;
}

interface Intent {
  id: string;
  pattern: RegExp;
  tool: string;
  /** none: no service; optional: used when named; required: ask which one when missing. */
  service: 'none' | 'optional' | 'required';
  input?: Record<string, unknown>;
}

// Order matters: the first intent whose pattern matches wins ("why did X get OOM killed" is OOM).
const INTENTS: Intent[] = [
  {
    id: 'oom',
    pattern: /\b(oom|out of memory|memory kill|oomkill)/i,
    tool: 'diagnose_oom',
    service: 'optional',
  },
  {
    // "is the stack down?", "is anything down?": the whole stack, not one service.
    id: 'stack_state',
    pattern:
      /\b(stack|anything|everything|something|all( the)? services)\b.*\b(down|up|ok|broken|failing|dead)\b/i,
    tool: 'stack_health',
    service: 'none',
  },
  {
    id: 'restart_reason',
    pattern:
      /\b(restart(ed|ing|s)?|crash(ed|ing|es)?|died|dies|die|dying|exit(ed|ing|s)?|down|kill(ed|s)?|fail(ed|ing|s)?|happened|succeed(ed)?|not (running|start(ing|ed)?)|won'?t start|never start(ed)?|stopped)\b/i,
    tool: 'explain_restarts',
    service: 'required',
  },
  {
    id: 'recent_errors',
    pattern: /\b(errors?|exceptions?|failures?|stack ?traces?)\b/i,
    tool: 'service_logs',
    service: 'required',
    input: { level: 'error', since: '1h', tail: 50 },
  },
  {
    id: 'top_consumers',
    pattern: /\b(memory|cpu|eating|consum\w*|resources?|heaviest|hog\w*|usage)\b/i,
    tool: 'service_stats',
    service: 'optional',
  },
  { id: 'backup_status', pattern: /\bbackups?\b/i, tool: 'list_backups', service: 'none' },
  { id: 'disk', pattern: /\b(disk|space|volume size|full)\b/i, tool: 'disk_usage', service: 'none' },
  {
    id: 'health',
    pattern: /\b(health\w*|status|up|ok|working|unhealthy|alive|broken)\b/i,
    tool: 'stack_health',
    service: 'optional',
  },
];

const STOP = new Set([
  'the',
  'did',
  'why',
  'is',
  'are',
  'what',
  'who',
  'how',
  'does',
  'do',
  'a',
  'an',
  'my',
  'our',
]);

/**
 * Service names mentioned in the question: exact names first, then a word that starts a single
 * service's name ("orch" -> orchestrator). A prefix shared by several services is ambiguous.
 */
export function matchServices(
  question: string,
  services: string[],
): { matched: string[]; ambiguous: string[][] } {
  const words: string[] = question.toLowerCase().match(/[a-z0-9][a-z0-9_.-]*/g) ?? [];
  const exact = services.filter((s) => words.includes(s.toLowerCase()));
  if (exact.length) return { matched: exact, ambiguous: [] };
  const matched: string[] = [];
  const ambiguous: string[][] = [];
  for (const w of words) {
    if (w.length < 3 || STOP.has(w)) continue;
    const hits = services.filter((s) => s.toLowerCase().startsWith(w) || s.toLowerCase().includes(w));
    if (hits.length === 1 && !matched.includes(hits[0]!)) matched.push(hits[0]!);
    else if (hits.length > 1) ambiguous.push(hits);
  }
  return { matched, ambiguous };
}

/** The deterministic half of `ask` (design.md §9): known intents to read-only tools, no guessing. */
export function route(question: string, services: string[]): Route {
  const intent = INTENTS.find((i) => i.pattern.test(question));
  if (!intent) return { kind: 'unknown', question };
  const { matched, ambiguous } = matchServices(question, services);
  const input: Record<string, unknown> = { ...intent.input };
  if (intent.service !== 'none') {
    if (matched.length > 1 && intent.service === 'required')
      return {
        kind: 'clarify',
        intent: intent.id,
        question: `Which service do you mean: ${matched.join(' or ')}?`,
      };
    if (matched.length === 0 && ambiguous.length && intent.service === 'required')
      return {
        kind: 'clarify',
        intent: intent.id,
        question: `Which service do you mean: ${ambiguous[0]!.join(', ')}?`,
      };
    if (matched.length === 0 && intent.service === 'required')
      return {
        kind: 'clarify',
        intent: intent.id,
        question: `Which service? The stack has ${services.join(', ') || 'no services'}.`,
      };
    if (matched[0]) input.service = matched[0];
  }
  return { kind: 'tool', intent: intent.id, tool: intent.tool, input };
}

/** Calls a tool by name; the ask tool hands in one that runs read-only tools only. */
export type CallTool = (name: string, input: Record<string, unknown>) => Promise<unknown>;

/** Routes the question and, for a tool route, runs that read-only tool for its evidence. */
export async function answerWithRouter(
  call: CallTool,
  services: string[],
  question: string,
): Promise<RoutedAnswer> {
  const r = route(question, services);
  if (r.kind !== 'tool') return { route: r };
  return { route: r, evidence: await call(r.tool, r.input) };
}

export const KNOWN_QUESTIONS = [
  'why did <service> restart?',
  'was <service> OOM killed?',
  'is the stack healthy?',
  'who is using the most memory?',
  'any errors in <service>?',
  'how are the backups?',
  'is the disk filling up?',
];
