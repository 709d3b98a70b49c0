import { describe, expect, it } from 'vitest';
import { LineSplitter, splitTimestamp } from '../../src/adapters/docker/line-splitter.js';

describe('LineSplitter', () => {
  it('joins lines split across chunks and strips CR', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('one\r\ntw'))).toEqual(['one']);
    expect(s.push(Buffer.from('o\nthr'))).toEqual(['two']);
    expect(s.flush()).toEqual(['thr']);
    expect(s.flush()).toEqual([]);
  });

  it('cuts a runaway line at maxLine and marks it, without keeping the rest', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('a'.repeat(25)))).toEqual([]);
    const [line] = s.push(Buffer.from('bbb\nnext\n'));
    expect(line).toBe(`${'a'.repeat(10)} …[line truncated]`);
    expect(s.push(Buffer.from(''))).toEqual([]);
  });
});

describe('splitTimestamp', () => {
  it('splits the engine timestamp prefix', () => {
    expect(splitTimestamp('2026-11-28T02:21:07.949348285Z {"level":"error"}')).toEqual({
      time: '2026-11-28T02:21:07.949348285Z',
      text: '{"level":"error"}',
    });
  });
  it('leaves lines without a timestamp alone', () => {
    expect(splitTimestamp('plain text line')).toEqual({ time: undefined, text: 'plain text line' });
  });
});
