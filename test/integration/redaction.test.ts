import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASK } from '../../src/safety/redact.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { type TestStack, upStack, waitFor } from '../helpers/stack.js';

// Issue 17.6: one service's output must not show another service's secrets. `vault` holds the
// secrets in its environment; `worker` has none of them in its own and prints them to its log.
const hex = randomBytes(6).toString('hex');
const mongoPassword = `mongo-root-${hex}`;
const signingKey = `sig/${hex}+k@y`;
const { privateKey: pem } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const pemLines = pem.trim().split('\n');

const workerLines = [
  `{"level":"error","msg":"mongo auth failed as root with ${mongoPassword}"}`,
  `{"level":"error","msg":"callback /cb?sig=${encodeURIComponent(signingKey)} rejected"}`,
  ...pemLines,
  '{"level":"info","msg":"listening on 8080"}',
];
/** Every form in which a secret of vault could show up in worker's output. */
const leaks = [mongoPassword, signingKey, encodeURIComponent(signingKey), ...pemLines];

let stack: TestStack;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'doomredact-'));
  const file = join(dir, 'docker-compose.json');
  // JSON is YAML; `$$` is a literal `$` for Compose.
  writeFileSync(
    file,
    JSON.stringify({
      services: {
        vault: {
          image: 'doom-ops-test/base:latest',
          environment: {
            MONGO_INITDB_ROOT_PASSWORD: mongoPassword,
            JWT_SIGNING_KEY: signingKey,
            TLS_PRIVATE_KEY: pem,
            // a "password" that is a service's name cannot be hidden, and must not blank that name
            LEGACY_PASSWORD: 'worker',
          },
          command: ['sleep', '3600'],
        },
        worker: {
          image: 'doom-ops-test/base:latest',
          environment: { SERVICE: 'worker' },
          command: ['sh', '-c', `printf '%s\\n' "$$@"; exec sleep 3600`, 'sh', ...workerLines],
        },
      },
    }),
  );
  stack = await upStack({ file });
  await waitFor('worker to log its lines', async () => {
    const out = (await invokeTool(findTool('service_logs')!, testContext(stack.project), {
      service: 'worker',
    })) as { lines: unknown[] };
    return out.lines.length >= workerLines.length;
  });
}, 120_000);

afterAll(async () => {
  await stack?.down();
});

describe('secrets of other services', () => {
  it("service_logs of worker masks vault's password, percent-encoded key and every PEM line", async () => {
    const out = (await invokeTool(findTool('service_logs')!, testContext(stack.project), {
      service: 'worker',
    })) as { service: string; containers: string[]; lines: Array<{ text: string }>; redactions: number };
    expect(out.service).toBe('worker');
    expect(out.containers).toEqual([`${stack.project}_worker_1`]);
    const texts = out.lines.map((l) => l.text);
    const all = JSON.stringify(out);
    for (const leak of leaks) expect(all).not.toContain(leak);
    expect(texts).toContain(`{"level":"error","msg":"mongo auth failed as root with ${MASK}"}`);
    expect(texts).toContain(`{"level":"error","msg":"callback /cb?sig=${MASK} rejected"}`);
    expect(texts.filter((t) => t === MASK)).toHaveLength(pemLines.length);
    expect(texts).toContain('{"level":"info","msg":"listening on 8080"}');
    expect(out.redactions).toBe(2 + pemLines.length);
  });

  it("log_report of worker shows vault's secrets masked in its top errors", async () => {
    const out = (await invokeTool(findTool('log_report')!, testContext(stack.project), {
      services: ['worker'],
      since: '1h',
    })) as { services: Array<{ errors: number; topErrors: Array<{ example: string }> }> };
    const all = JSON.stringify(out);
    for (const leak of leaks) expect(all).not.toContain(leak);
    const worker = out.services[0]!;
    expect(worker.errors).toBe(2);
    expect(worker.topErrors.map((e) => e.example).sort()).toEqual([
      `{"level":"error","msg":"callback /cb?sig=${MASK} rejected"}`,
      `{"level":"error","msg":"mongo auth failed as root with ${MASK}"}`,
    ]);
  });
});

describe('secrets of the project in the audit log', () => {
  it("a write call whose input carries vault's password is audited with it masked (valid and invalid input alike)", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'doomredact-state-'));
    const ctx = testContext(stack.project, undefined, {}, { stateDir });
    // A valid image reference that happens to be the password: refused (no approver here), audited.
    await expect(
      invokeTool(findTool('update_service')!, ctx, { service: 'worker', image: mongoPassword }),
    ).rejects.toMatchObject({ code: expect.any(String) });
    // Not an image reference: refused for its input, audited too.
    await expect(
      invokeTool(findTool('update_service')!, testContext(stack.project, undefined, {}, { stateDir }), {
        service: 'worker',
        image: `x y ${mongoPassword}`,
      }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    const text = readFileSync(join(stateDir, 'audit.jsonl'), 'utf8');
    expect(text).not.toContain(mongoPassword);
    const entries = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; input?: { image?: string } });
    expect(entries.map((e) => e.event)).toEqual(['requested', 'refused', 'refused']);
    expect(entries[0]!.input?.image).toBe(MASK);
    expect(entries[2]!.input?.image).toBe(`x y ${MASK}`);
  });
});
