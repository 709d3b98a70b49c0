import { describe, expect, it } from 'vitest';
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

  it('formats', () => {
    expect(formatDuration(3_725_000)).toBe('1h 2m');
    expect(formatBytes(134217728)).toBe('128MiB');
    expect(formatBytes(null)).toBe('-');
  });
});
