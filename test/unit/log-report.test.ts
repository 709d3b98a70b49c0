import { describe, expect, it } from 'vitest';
import { LogAggregator, latencyStats, messageKey, percentile } from '../../src/knowledge/log-report.js';

describe('log report logic', () => {
  it('nearest-rank percentiles are exact', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(latencyStats(v)).toEqual({ count: 100, mean: 50.5, p50: 50, p95: 95, max: 100 });
    expect(latencyStats([])).toBeNull();
  });

  it('groups messages whose variable parts differ', () => {
    expect(messageKey('x', { msg: 'db timeout after 30s' })).toBe('db timeout after <n>s');
    expect(messageKey('x', { msg: 'whatever 1', error_type: 'DbTimeout' })).toBe('error_type=DbTimeout');
    expect(messageKey('x', { msg: 'connection refused to 10.0.0.5:5432' })).toBe(
      'connection refused to <ip>',
    );
    expect(messageKey('ERROR: user "bob" id 4f9a8c2e77d1aa not found', null)).toBe(
      'user <str> id <hex> not found',
    );
  });

  it('counts levels, errors and warnings, first and last seen', () => {
    const a = new LogAggregator('latency_ms');
    a.add('{"level":"error","msg":"db timeout after 30s"}', '2026-11-28T10:00:02Z');
    a.add('{"level":"error","msg":"db timeout after 5s"}', '2026-11-28T10:00:01Z');
    a.add('{"level":"fatal","msg":"panic"}', null);
    a.add('{"level":"warn","msg":"slow"}', null);
    a.add('{"level":"info","msg":"ok","latency_ms":12}', null);
    a.add('plain text line', null);
    const r = a.result(10);
    expect(r).toMatchObject({
      lines: 6,
      errors: 3,
      warnings: 1,
      byLevel: { error: 2, fatal: 1, warn: 1, info: 1 },
    });
    expect(r.topErrors[0]).toMatchObject({
      message: 'db timeout after <n>s',
      count: 2,
      firstSeen: '2026-11-28T10:00:01Z',
      lastSeen: '2026-11-28T10:00:02Z',
    });
    expect(r.latency).toEqual({ count: 1, mean: 12, p50: 12, p95: 12, max: 12 });
  });
});
