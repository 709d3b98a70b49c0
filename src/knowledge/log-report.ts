import { atLeast, parseLevel } from './log-levels.js';

export interface MessageStat {
  message: string;
  count: number;
  level: string;
  firstSeen: string | null;
  lastSeen: string | null;
  example: string;
}

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (exact, no interpolation): p50 of 1..100 is 50. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function latencyStats(values: readonly number[]): LatencyStats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    mean: Math.round((sum / sorted.length) * 1000) / 1000,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted[sorted.length - 1]!,
  };
}

/**
 * The message that identifies an error "type": JSON msg/message/error field or the text, with
 * variable parts (numbers, hex ids, UUIDs, IPs, quoted values) replaced so repeats group together.
 */
export function messageKey(text: string, json: Record<string, unknown> | null): string {
  // The handbook counts errors by their error_type field when the service logs one.
  if (json && typeof json.error_type === 'string' && json.error_type) return `error_type=${json.error_type}`;
  const raw = json
    ? String(json.msg ?? json.message ?? json.error ?? json.err ?? text)
    : text
        .replace(/^\S*\d{4}-\d\d-\d\dT\S+\s+/, '')
        .replace(/^\[?(trace|debug|info|warn(ing)?|error|fatal)\]?:?\s+/i, '');
  return raw
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>')
    .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .trim()
    .slice(0, 200);
}

function parseJson(text: string): Record<string, unknown> | null {
  if (!text.startsWith('{')) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Aggregates one service's log lines: error/warn counts, top messages, a latency field's stats. */
export class LogAggregator {
  lines = 0;
  readonly byLevel: Record<string, number> = {};
  private readonly messages = new Map<string, MessageStat>();
  private readonly latencies: number[] = [];

  constructor(private readonly latencyField: string) {}

  add(text: string, time: string | null): void {
    this.lines++;
    const json = parseJson(text);
    const level = parseLevel(text);
    if (level) this.byLevel[level] = (this.byLevel[level] ?? 0) + 1;
    const latency = json?.[this.latencyField];
    if (typeof latency === 'number' && Number.isFinite(latency)) this.latencies.push(latency);
    if (!atLeast(level, 'warn')) return;
    const key = `${level}\u0000${messageKey(text, json)}`;
    const stat = this.messages.get(key);
    if (stat) {
      stat.count++;
      if (time && (!stat.lastSeen || time > stat.lastSeen)) stat.lastSeen = time;
      if (time && (!stat.firstSeen || time < stat.firstSeen)) stat.firstSeen = time;
    } else
      this.messages.set(key, {
        message: messageKey(text, json),
        count: 1,
        level: level!,
        firstSeen: time,
        lastSeen: time,
        example: text.slice(0, 300),
      });
  }

  result(top: number) {
    const messages = [...this.messages.values()].sort(
      (a, b) => b.count - a.count || a.message.localeCompare(b.message),
    );
    return {
      lines: this.lines,
      errors: (this.byLevel.error ?? 0) + (this.byLevel.fatal ?? 0),
      warnings: this.byLevel.warn ?? 0,
      byLevel: { ...this.byLevel },
      topErrors: messages.filter((m) => m.level === 'error' || m.level === 'fatal').slice(0, top),
      topWarnings: messages.filter((m) => m.level === 'warn').slice(0, top),
      latency: latencyStats(this.latencies),
    };
  }
}
