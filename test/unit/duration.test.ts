import { describe, expect, it } from 'vitest';
import { explainRestarts } from '../../src/tools/diagnosis/explain-restarts.js';
import { exportLogs } from '../../src/tools/logs/export-logs.js';
import { logReport } from '../../src/tools/logs/log-report.js';
import { serviceLogs } from '../../src/tools/logs/service-logs.js';
import { formatBytes, formatDuration, parseDurationMs, parseTimePoint } from '../../src/util/duration.js';

describe('durations and time points', () => {
  it('parses durations', () => {
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs('10 minutes')).toBeUndefined();
  });

  it('time points: relative, RFC 3339, unix seconds; junk rejected', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(parseTimePoint('10m', now)).toBe(now / 1000 - 600);
    expect(parseTimePoint('2026-11-28T11:00:00Z', now)).toBe(now / 1000 - 3600);
    expect(parseTimePoint('1764331200', now)).toBe(1764331200);
    expect(parseTimePoint('$(reboot)', now)).toBeUndefined();
    expect(parseTimePoint('yesterday', now)).toBeUndefined();
  });

  it('unix seconds from 0 (the beginning) up, as documented; millisecond timestamps refused', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(parseTimePoint('0', now)).toBe(0);
    expect(parseTimePoint('86400', now)).toBe(86400);
    expect(parseTimePoint('1764331200.5', now)).toBe(1764331200);
    expect(parseTimePoint('1764331200000', now)).toBeUndefined();
    expect(parseTimePoint('-1', now)).toBeUndefined();
  });

  it('every tool window field takes --since 0 (and other small unix seconds)', () => {
    expect(serviceLogs.input.safeParse({ service: 'nats', since: '0' }).success).toBe(true);
    expect(serviceLogs.input.safeParse({ service: 'nats', since: '0', until: '60' }).success).toBe(true);
    expect(logReport.input.safeParse({ since: '0' }).success).toBe(true);
    expect(exportLogs.input.safeParse({ since: '0' }).success).toBe(true);
    expect(explainRestarts.input.safeParse({ service: 'nats', since: '0' }).success).toBe(true);
  });

  it('formats', () => {
    expect(formatDuration(3_725_000)).toBe('1h 2m');
    expect(formatBytes(134217728)).toBe('128MiB');
    expect(formatBytes(null)).toBe('-');
  });
});

describe('deadline', () => {
  it('aborts with a TimeoutError after ms, or with the parent reason when the parent aborts first', async () => {
    const { deadline } = await import('../../src/util/deadline.js');
    const timed = deadline(new AbortController().signal, 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(timed.aborted).toBe(true);
    expect((timed.reason as DOMException).name).toBe('TimeoutError');
    const parent = new AbortController();
    const early = deadline(parent.signal, 10_000);
    parent.abort(new Error('stop'));
    expect(early.aborted).toBe(true);
    expect((early.reason as Error).message).toBe('stop');
  });
});
