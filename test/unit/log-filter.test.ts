import { describe, expect, it } from 'vitest';
import { capBytes, lineMatcher, Ring } from '../../src/tools/lib/log-filter.js';

describe('log filtering', () => {
  it('Ring keeps only the newest N in order', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.toArray()).toEqual([5, 6, 7]);
  });

  it('level is a minimum; grep is a case-insensitive substring, not a regex', () => {
    const m = lineMatcher({ level: 'error', grep: 'MONGO' });
    expect(m('{"level":"error","msg":"mongodb down"}').matches).toBe(true);
    expect(m('{"level":"fatal","msg":"mongodb gone"}').matches).toBe(true);
    expect(m('{"level":"warn","msg":"mongodb slow"}').matches).toBe(false);
    expect(lineMatcher({ grep: '.*' })('anything').matches).toBe(false);
  });

  it('capBytes drops the oldest lines first', () => {
    const lines = ['aaaa', 'bbbb', 'cccc'].map((text) => ({ text }));
    expect(capBytes(lines, 10)).toEqual({ lines: [{ text: 'bbbb' }, { text: 'cccc' }], dropped: 1 });
  });
});
