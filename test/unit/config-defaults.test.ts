import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULTS_JSON, type PrecompiledDefaults, precompileDefaults } from '../../src/config/load.js';

describe('config/default.yaml.json', () => {
  it('is config/default.yaml parsed, of its current text (else: npm run config:json)', () => {
    const text = readFileSync('config/default.yaml', 'utf8');
    const copy = JSON.parse(readFileSync(`config/${DEFAULTS_JSON}`, 'utf8')) as PrecompiledDefaults;
    expect(copy, 'config/default.yaml.json is stale: run `npm run config:json`').toEqual(
      precompileDefaults(text),
    );
    // JSON holds the YAML's values exactly (no dates or other types JSON would turn into strings).
    expect(copy.config).toEqual(parseYaml(text));
  });
});
