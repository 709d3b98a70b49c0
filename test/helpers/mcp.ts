import { Ajv } from 'ajv';
import { expect } from 'vitest';

const ajv = new Ajv({ strict: false, allErrors: true });

/** Validates structuredContent against the outputSchema the server advertised in tools/list. */
export function expectMatchesSchema(schema: object, value: unknown): void {
  const validate = ajv.compile(schema);
  const ok = validate(value);
  expect(ok, JSON.stringify(validate.errors)).toBe(true);
}
