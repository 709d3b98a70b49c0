import { describe, expect, it } from 'vitest';
import { createRedactor, MASK, redact } from '../../src/safety/redact.js';

describe('redact', () => {
  it('masks passwords in URIs but keeps user and host', () => {
    expect(redact('uri=mongodb://admin:s3cr3t@mongodb:27017/clau-doom')).toBe(
      `uri=mongodb://admin:${MASK}@mongodb:27017/clau-doom`,
    );
  });

  it('masks JSON and key=value secrets', () => {
    expect(redact('{"msg":"x","password":"hunter2","api_token":"abc123"}')).toBe(
      `{"msg":"x","password":"${MASK}","api_token":"${MASK}"}`,
    );
    expect(redact('login ok token=abcdef123 user=bob')).toBe(`login ok token=${MASK} user=bob`);
    expect(redact('SECRET_KEY: zzz999')).toBe(`SECRET_KEY: ${MASK}`);
  });

  it('masks bearer and well-known token shapes', () => {
    expect(redact('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc')).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(redact('slack xoxb-123456789012-abcdefghij')).toBe(`slack ${MASK}`);
    expect(redact('key AKIAABCDEFGHIJKLMNOP')).toBe(`key ${MASK}`);
  });

  it('masks literal secret values wherever they appear, and counts', () => {
    const r = createRedactor(['orch-db-s3cret']);
    expect(r('connecting with orch-db-s3cret now')).toBe(`connecting with ${MASK} now`);
    expect(r.count).toBe(1);
  });

  it('leaves ordinary lines alone', () => {
    const line = '{"level":"info","msg":"episode complete","episode":3,"latency_ms":40}';
    const r = createRedactor(['short']);
    expect(r(line)).toBe(line);
    expect(r.count).toBe(0);
  });
});
