import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { secretEnvValues } from '../../src/adapters/docker/secret-env.js';
import { loadConfig } from '../../src/config/load.js';
import { ToolError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createSafety } from '../../src/safety/index.js';
import { createRedactor, MASK, maskSecretsIn, redact } from '../../src/safety/redact.js';
import type { ToolContext } from '../../src/tools/context.js';
import { defineTool } from '../../src/tools/define-tool.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { projectSecrets } from '../../src/tools/lib/secrets.js';

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

// Issue 17.6: forms of secrets that used to get through.
describe('redaction gaps', () => {
  const { privateKey: pem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pemLines = pem.trim().split('\n');

  it('masks a PEM private key from an env var when the whole key is in one text', () => {
    const r = createRedactor(secretEnvValues([`TLS_PRIVATE_KEY=${pem}`]));
    const out = r(`loading key\n${pem}\nkey loaded`);
    for (const line of pemLines) expect(out).not.toContain(line);
    expect(out).toMatch(/^loading key\n\*\*\*\s*key loaded$/);
    // An unknown key printed whole is masked by its shape alone.
    const shape = redact(`dump: ${pem} end`);
    for (const line of pemLines) expect(shape).not.toContain(line);
    expect(shape).toBe(`dump: ${MASK}\n end`);
  });

  it('masks each line of a PEM key from an env var when log lines arrive one at a time', () => {
    const r = createRedactor(secretEnvValues([`TLS_PRIVATE_KEY=${pem}`]));
    for (const line of pemLines)
      expect(r(`2024-05-01T10:00:00Z app: ${line}`)).toBe(`2024-05-01T10:00:00Z app: ${MASK}`);
    expect(r.count).toBe(pemLines.length);
  });

  it('masks each line of a key written with literal \\n (as .env files and compose files hold it)', () => {
    const oneLine = pem.trim().replace(/\n/g, '\\n');
    const r = createRedactor(secretEnvValues([`JWT_SIGNING_KEY=${oneLine}`]));
    expect(r(`key=${oneLine}`)).toBe(`key=${MASK}`);
    for (const line of pemLines.slice(1, -1)) expect(r(line)).toBe(MASK);
  });

  it('masks a JWT anywhere in text, whatever the field is called', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    expect(redact(`issued ${jwt} to bob`)).toBe(`issued ${MASK} to bob`);
    expect(redact(`{"msg":"login","jwt":"${jwt}"}`)).toBe(`{"msg":"login","jwt":"${MASK}"}`);
    // alg none: an empty signature is still a JWT
    expect(redact('id eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ. ok')).toBe(`id ${MASK} ok`);
  });

  it('treats *_KEY, SIGNING_KEY, *PRIVATE*, *CREDENTIAL* and *DSN as secret env names', () => {
    const env = [
      'STRIPE_KEY=sk_live_51Habc',
      'JWT_SIGNING_KEY=sig-9f8e7d6c',
      'SIGNINGKEY=plain-signing-1',
      'KEY=bare-key-value',
      'GPG_PRIVATE_MATERIAL=priv-material-1',
      'GOOGLE_CREDENTIAL_JSON={"type":"service_account"}',
      'AZURE_CREDENTIALS=azure-cred-77',
      'SENTRY_DSN=https://f00dfeed@o1.ingest.sentry.io/42',
      'PG_DSN=host=db user=app password=pg-dsn-pw',
    ];
    expect(secretEnvValues(env)).toEqual(env.map((e) => e.slice(e.indexOf('=') + 1)));
  });

  it('keeps non-secrets unmasked: PATH, NODE_ENV, HOSTNAME, *_PORT, *_HOST, *_URL without credentials, flags', () => {
    const env = [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
      'NODE_ENV=production',
      'HOSTNAME=4f9a8c2e77d1',
      'AUTH_PORT=8443',
      'TOKEN_SERVICE_HOST=auth.internal',
      'AUTH_URL=https://auth.example.com/login',
      'PRIVATE_KEY_PATH=/run/secrets/tls.key',
      'TOKEN_TTL=3600',
      'AUTH_ENABLED=true',
    ];
    expect(secretEnvValues(env)).toEqual([]);
    const r = createRedactor(secretEnvValues(env));
    const line = 'GET https://auth.example.com/login on 8443 from 4f9a8c2e77d1 in production, ttl 3600 true';
    expect(r(line)).toBe(line);
    expect(r.count).toBe(0);
    // …but a URL's password is a secret wherever it shows up
    expect(secretEnvValues(['DATABASE_URL=postgres://app:db-pw-123@db:5432/app'])).toEqual(['db-pw-123']);
  });

  it('masks a known secret that appears percent-encoded (encodeURIComponent, lower-case hex, form encoding)', () => {
    const secret = 'p@ss/w0rd+x y';
    const r = createRedactor([secret]);
    expect(r(`GET /cb?sig=${encodeURIComponent(secret)}&v=2`)).toBe(`GET /cb?sig=${MASK}&v=2`);
    expect(r(`GET /cb?sig=${encodeURIComponent(secret).toLowerCase()}`)).toBe(`GET /cb?sig=${MASK}`);
    expect(r(`body sig=${encodeURIComponent(secret).replace(/%20/g, '+')}`)).toBe(`body sig=${MASK}`);
  });

  it('masks secrets in percent-encoded query strings and URIs, keeping the rest encoded', () => {
    expect(redact('GET /cb?token=abc%2Fdef&x=1')).toBe(`GET /cb?token=${MASK}&x=1`);
    expect(redact('POST password=p%40ss')).toBe(`POST password=${MASK}`);
    // a query string inside a query string: only its decoding shows the key
    expect(redact('GET /login?next=%2Fcallback%3Ftoken%3Dabc123def%26page%3D2 200')).toBe(
      `GET /login?next=%2Fcallback%3Ftoken%3D${MASK}%26page%3D2 200`,
    );
    expect(redact('GET /r?u=https%3A%2F%2Fadmin%3As3cr3t%40db%2Fx')).toBe(
      `GET /r?u=https%3A%2F%2Fadmin%3A${MASK}%40db%2Fx`,
    );
  });

  it('leaves encoded and dotted text that holds no secret as it is', () => {
    const r = createRedactor(['orch-db-s3cret']);
    const line = 'GET /search?q=hello%20world&lang=en 200 v1.2.3 cpu 45% done eyJ';
    expect(r(line)).toBe(line);
    expect(r.count).toBe(0);
  });

  it('maskSecretsIn masks known values in every string of an output, and only them', () => {
    const out = { a: 'x orch-db-s3cret y', b: ['token=keep-me', 3], c: { d: null } };
    expect(maskSecretsIn(out, ['orch-db-s3cret'])).toEqual({
      a: `x ${MASK} y`,
      b: ['token=keep-me', 3],
      c: { d: null },
    });
    expect(maskSecretsIn(out, ['absent-value'])).toBe(out);
  });
});

describe('project secrets at the tool boundary', () => {
  // The engine's view of a two-service project: only vault holds the secret.
  const docker = {
    listStack: async () => [
      { id: 'v1', name: 'p_vault_1', service: 'vault', image: 'vault:1', oneoff: false },
      { id: 'w1', name: 'p_worker_1', service: 'worker', image: 'worker:1', oneoff: false },
    ],
    inspect: async (id: string) => ({ id, secretValues: id === 'v1' ? ['vault-s3cret-77'] : [] }),
  };
  const ctx = () =>
    ({
      docker,
      project: 'p',
      config: { services: {}, backup: { mongodb: { uri: 'mongodb://localhost:27017' } }, readOnly: false },
      signal: new AbortController().signal,
    }) as unknown as ToolContext;
  const leaky = (fail: boolean) =>
    defineTool({
      name: 'leaky_test_tool',
      title: 't',
      description: 't',
      risk: 'read',
      idempotent: true,
      input: z.object({}),
      output: z.object({ note: z.string(), nested: z.array(z.string()) }),
      async run(c) {
        await projectSecrets(c); // what a tool that reads container output does first
        if (fail) throw new ToolError('failed', 'worker said vault-s3cret-77', { hint: 'vault-s3cret-77' });
        return { note: 'worker said vault-s3cret-77', nested: ['x vault-s3cret-77 y'] };
      },
    });

  it('masks it in the audit entry of a failed write call', async () => {
    const config = loadConfig({
      env: { DOOM_OPS_STATE_DIR: mkdtempSync(join(tmpdir(), 'doomredact-')) },
      project: 'p',
    });
    const c = {
      ...(ctx() as object),
      config,
      safety: createSafety(config),
      principal: { id: 'cli:test', surface: 'cli' },
      progress: () => {},
      logger: createLogger('silent'),
    } as unknown as ToolContext;
    const tool = { ...leaky(true), risk: 'write' as const, idempotent: false };
    await expect(invokeTool(tool, c, {})).rejects.toThrow(`worker said ${MASK}`);
    const { entries } = await c.safety.audit.query();
    expect(entries.find((e) => e.event === 'failed')?.outcome).toBe(`worker said ${MASK}`);
    expect(JSON.stringify(entries)).not.toContain('vault-s3cret-77');
  });

  it("masks another service's secret in any output field and in the error a tool throws", async () => {
    expect(await invokeTool(leaky(false), ctx(), {})).toEqual({
      note: `worker said ${MASK}`,
      nested: [`x ${MASK} y`],
    });
    const err = await invokeTool(leaky(true), ctx(), {}).catch((e: ToolError) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect([(err as ToolError).message, (err as ToolError).hint]).toEqual([`worker said ${MASK}`, MASK]);
  });
});

describe('known secrets in the JSON escapes other encoders write', () => {
  it('masks `/` escaped as `\\/` (PHP, Java) and non-ASCII as \\uXXXX (Python json.dumps)', () => {
    const slash = 'sig/ning+key=zz42';
    const unicode = 'ÜnïcødePäss1';
    const r = createRedactor([slash, unicode]);
    expect(r('{"x": "sig\\/ning+key=zz42"}')).toBe('{"x": "***"}');
    expect(r('{"p": "\\u00dcn\\u00efc\\u00f8deP\\u00e4ss1"}')).toBe('{"p": "***"}');
    expect(r('{"p": "\\u00DCn\\u00EFc\\u00F8deP\\u00E4ss1"}')).toBe('{"p": "***"}');
    // Astral characters as surrogate pairs, as json.dumps writes them.
    expect(createRedactor(['pw-😀-long'])('"pw-\\ud83d\\ude00-long"')).toBe('"***"');
  });
});
