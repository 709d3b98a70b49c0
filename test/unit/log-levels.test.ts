import { describe, expect, it } from 'vitest';
import { atLeast, parseLevel } from '../../src/knowledge/log-levels.js';

describe('parseLevel', () => {
  it('reads JSON level fields, including pino numbers and aliases', () => {
    expect(parseLevel('{"level":"error","msg":"x"}')).toBe('error');
    expect(parseLevel('{"level":50,"msg":"x"}')).toBe('error');
    expect(parseLevel('{"severity":"WARNING"}')).toBe('warn');
    expect(parseLevel('{"lvl":"crit"}')).toBe('fatal');
    expect(parseLevel('{"msg":"no level"}')).toBeNull();
  });

  it('reads a leading level word in text logs', () => {
    expect(parseLevel('ERROR could not connect')).toBe('error');
    expect(parseLevel('2026-01-01 12:00:00 [WARN] slow')).toBe('warn');
    expect(parseLevel('time=1 level INFO: hi')).toBe('info');
    expect(parseLevel('an error happened somewhere')).toBeNull();
  });

  it('orders levels for minimum-level filters', () => {
    expect(atLeast('fatal', 'error')).toBe(true);
    expect(atLeast('error', 'error')).toBe(true);
    expect(atLeast('warn', 'error')).toBe(false);
    expect(atLeast(null, 'trace')).toBe(false);
  });
});

describe('parseLevel marked lower-case levels', () => {
  it('accepts level=… and [level] forms', () => {
    expect(parseLevel('ts=1 level=error msg=boom')).toBe('error');
    expect(parseLevel('[warn] disk almost full')).toBe('warn');
  });
});
