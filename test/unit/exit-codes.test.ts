import { describe, expect, it } from 'vitest';
import { explainExitCode } from '../../src/knowledge/exit-codes.js';

describe('explainExitCode', () => {
  it.each([
    [0, null, /success/],
    [1, null, /application error/],
    [2, null, /application.s own exit code 2/],
    [126, null, /not executable/],
    [127, null, /not found/],
    [139, 'SIGSEGV', /segmentation fault/],
    [143, 'SIGTERM', /asked to stop/],
  ])('code %i', (code, signal, meaning) => {
    const m = explainExitCode(code);
    expect(m.signal).toBe(signal);
    expect(m.meaning).toMatch(meaning);
  });

  it('137 with OOMKilled is the OOM killer; without it, a SIGKILL that may be OOM or docker kill', () => {
    expect(explainExitCode(137, true)).toMatchObject({
      signal: 'SIGKILL',
      meaning: expect.stringMatching(/OOM killer.*memory limit/),
    });
    const plain = explainExitCode(137, false);
    expect(plain.signal).toBe('SIGKILL');
    expect(plain.meaning).toMatch(/docker kill/);
  });

  it('names other signals and leaves app codes to the logs', () => {
    expect(explainExitCode(129).signal).toBe('SIGHUP');
    expect(explainExitCode(42).meaning).toMatch(/own failure code 42.*log lines/);
  });
});
