import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/knowledge/interpolate.js';

describe('interpolate: Compose variables as docker stack deploy expands them', () => {
  const env = { SET: 'v', EMPTY: '' };
  it.each([
    ['$SET and ${SET}', 'v and v'],
    ['${UNSET:-d} ${EMPTY:-d} ${SET:-d}', 'd d v'],
    ['${UNSET-d} ${EMPTY-d}', 'd '],
    ['${UNSET:+a}${EMPTY:+a}${SET:+a}', 'a'],
    ['${UNSET+a}${EMPTY+a}', 'a'],
    ['$$SET costs $$5', '$SET costs $5'],
  ])('%s', (text, value) => {
    expect(interpolate(text, env).value).toBe(value);
  });

  it('an unset variable without a default is empty and named; a required one is an error with its message', () => {
    expect(interpolate('node.hostname == ${NODE2}', env)).toEqual({
      value: 'node.hostname == ',
      missing: ['NODE2'],
      errors: [],
    });
    expect(interpolate('${GPU:?set GPU to the device id}', env).errors).toEqual([
      'GPU: set GPU to the device id',
    ]);
    expect(interpolate('${EMPTY?x}', env).errors).toEqual([]);
  });
});
