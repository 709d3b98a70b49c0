import { describe, expect, it } from 'vitest';
import { NotAnInteger, num } from '../../src/cli/options.js';

describe('CLI counts', () => {
  it('are decimal integers only: empty, exponent, hex, padded and leading-zero forms are not counts', () => {
    expect(num('3')).toBe(3);
    expect(num('0')).toBe(0);
    expect(num('-1')).toBe(-1); // a number: the tool's schema refuses it, naming the field
    expect(num(undefined)).toBeUndefined();
    for (const bad of ['', '1e1', '0x3', ' 2', '2 ', '1.5', '010', 'three'])
      expect(num(bad), JSON.stringify(bad)).toBeInstanceOf(NotAnInteger);
  });
});
