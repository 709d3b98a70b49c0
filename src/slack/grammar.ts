import { z } from 'zod';
import { describeIssues } from '../tools/invoke.js';
import { findTool } from '../tools/registry.js';

/** One `/doom` subcommand: which tool it runs, its positional fields and its usage line. */
interface Sub {
  tool?: string;
  positional: string[];
  usage: string;
  /** Fixed input merged under what the user typed (e.g. oom's default window). */
  fixed?: Record<string, unknown>;
}

export const SUBCOMMANDS: Record<string, Sub> = {
  help: { positional: [], usage: 'help' },
  health: { tool: 'stack_health', positional: ['service'], usage: 'health [service]' },
  smoke: { tool: 'smoke_test', positional: [], usage: 'smoke' },
  down: { tool: 'stack_down', positional: [], usage: 'down [--force]' },
  update: {
    tool: 'update_service',
    positional: ['service', 'image'],
    usage: 'update <service> <image> [--timeout 60s]',
  },
  up: { tool: 'stack_up', positional: [], usage: 'up [--overlay prod|dev|gpu] [--timeout 2m] [--no-smoke]' },
  stats: { tool: 'service_stats', positional: ['service'], usage: 'stats [service] [--top N] [--no-cpu]' },
  logs: {
    tool: 'service_logs',
    positional: ['service'],
    usage: 'logs <service> [--tail N] [--since 10m] [--grep text] [--level error]',
  },
  scale: {
    tool: 'scale_service',
    positional: ['service', 'replicas'],
    usage: 'scale <service> <n> [--force]',
  },
  'scale-agents': {
    tool: 'scale_agents',
    positional: ['replicas'],
    usage: 'scale-agents <n> [--force] | scale-agents --generation <g> (also: scale agents …)',
  },
  restart: { tool: 'restart_service', positional: ['service'], usage: 'restart <service> [--replica N]' },
  'log-report': {
    tool: 'log_report',
    positional: [],
    usage: 'log-report [--since 1h] [--latency-field latency_ms] [--top N]',
  },
  'export-logs': { tool: 'export_logs', positional: [], usage: 'export-logs [--since 24h] [--until 1h]' },
  why: { tool: 'explain_restarts', positional: ['service'], usage: 'why <service> [--since 24h]' },
  oom: { tool: 'diagnose_oom', positional: ['service'], usage: 'oom [service] [--since 24h]' },
  runbooks: { tool: 'list_runbooks', positional: [], usage: 'runbooks' },
  runbook: {
    tool: 'run_runbook',
    positional: ['id', 'service'],
    usage: 'runbook <id> [service] [--target svc] [--port N]',
  },
  lint: { tool: 'lint_compose', positional: [], usage: 'lint' },
  disk: { tool: 'disk_usage', positional: [], usage: 'disk' },
  backup: {
    tool: 'backup',
    positional: ['component'],
    usage: 'backup <mongodb|opensearch|duckdb|volumes|full>',
  },
  backups: { tool: 'list_backups', positional: [], usage: 'backups [--repository name]' },
  verify: {
    tool: 'verify_backup',
    positional: ['id'],
    usage: 'verify <backup id> [--repository name] [--read-data 10%]',
  },
  restore: {
    tool: 'restore',
    positional: ['component', 'id'],
    usage:
      'restore [<component> <backup id>] [--target name] [--repository name] [--node hostname] (no arguments: complete an interrupted restore)',
  },
  drill: { tool: 'drill_backup', positional: ['id'], usage: 'drill [backup id]' },
  prune: { tool: 'prune_backups', positional: [], usage: 'prune [--dry-run]' },
  approvals: { positional: [], usage: 'approvals' },
  audit: { tool: 'audit_log', positional: [], usage: 'audit [--tool name] [--limit N]' },
  incidents: { tool: 'recent_incidents', positional: [], usage: 'incidents [--open] [--limit N]' },
  schedule: { tool: 'schedule_status', positional: [], usage: 'schedule' },
  ask: { positional: [], usage: 'ask <question>' },
};

export type Parsed =
  | { kind: 'help'; note?: string }
  | { kind: 'approvals' }
  | { kind: 'ask'; question: string }
  | { kind: 'tool'; sub: string; tool: string; input: Record<string, unknown> }
  | { kind: 'error'; sub: string; message: string; usage: string };

/** Words, with "double" or 'single' quotes keeping spaces (`--grep "connection refused"`). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|'([^']*)'|“([^”]*)”|(\S+)/g))
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  return out;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Type of a field as its JSON schema says, so "4" becomes 4 only where a number is expected. */
function fieldType(tool: string, field: string): string | undefined {
  const schema = z.toJSONSchema(findTool(tool)!.input, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string }>;
  };
  return schema.properties?.[field]?.type;
}

function coerce(tool: string, field: string, value: string | boolean): unknown {
  if (typeof value === 'boolean') return value;
  const type = fieldType(tool, field);
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && /^(true|false)$/.test(value)) return value === 'true';
  return value;
}

/**
 * `/doom <sub> [args] [--flags]` to a tool call. The tool's own zod schema is the judge: what it
 * rejects comes back with that subcommand's usage line.
 */
export function parseCommand(text: string): Parsed {
  const words = tokenize(text.trim());
  const [first, ...rest] = words;
  if (!first || first === 'help' || first === '--help') return { kind: 'help' };
  let subName = first.toLowerCase();
  // `scale agents …` is the agent pool (scale_agents); `scale agent 4` scales the service named agent.
  if (subName === 'scale' && rest[0]?.toLowerCase() === 'agents') {
    subName = 'scale-agents';
    rest.shift();
  }
  const sub = SUBCOMMANDS[subName];
  if (!sub) return { kind: 'help', note: `unknown command "${first}"` };
  if (subName === 'approvals') return { kind: 'approvals' };
  if (subName === 'ask') {
    const question = rest.join(' ').trim();
    return question
      ? { kind: 'ask', question }
      : { kind: 'error', sub: subName, message: 'ask needs a question', usage: sub.usage };
  }
  const tool = sub.tool!;
  const input: Record<string, unknown> = { ...sub.fixed };
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (!w.startsWith('--')) {
      positional.push(w);
      continue;
    }
    const [flag, inline] = w.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag.startsWith('no-')) {
      input[camel(flag.slice(3))] = false;
      continue;
    }
    const field = camel(flag);
    const next = rest[i + 1];
    const isBool = fieldType(tool, field) === 'boolean';
    if (inline !== undefined) input[field] = coerce(tool, field, inline);
    else if (isBool) input[field] = true;
    else if (next !== undefined && !next.startsWith('--')) {
      input[field] = coerce(tool, field, next);
      i++;
    } else return { kind: 'error', sub: subName, message: `--${flag} needs a value`, usage: sub.usage };
  }
  if (positional.length > sub.positional.length)
    return {
      kind: 'error',
      sub: subName,
      message: `too many arguments: ${positional.slice(sub.positional.length).join(' ')}`,
      usage: sub.usage,
    };
  sub.positional.forEach((field, i) => {
    if (positional[i] !== undefined) input[field] = coerce(tool, field, positional[i]!);
  });
  const parsed = findTool(tool)!.input.safeParse(input);
  if (!parsed.success)
    return { kind: 'error', sub: subName, message: describeIssues(parsed.error.issues), usage: sub.usage };
  return { kind: 'tool', sub: subName, tool, input };
}

export function helpText(command = '/doom'): string {
  return [
    `*${command}* — day-2 operations for the stack`,
    ...Object.values(SUBCOMMANDS).map((s) => `• \`${command} ${s.usage}\``),
  ].join('\n');
}
