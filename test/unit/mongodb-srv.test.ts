import dns from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongoStatus } from '../../src/adapters/mongodb/client.js';

// The resolver is pointed at a closed port on 127.0.0.1: no query leaves the machine.
let saved: string[];
beforeAll(() => {
  saved = dns.getServers();
  dns.setServers(['127.0.0.1:1']);
  dns.promises.setServers(['127.0.0.1:1']);
});
afterAll(() => {
  dns.setServers(saved);
  dns.promises.setServers(saved);
});

describe('a mongodb+srv:// name that does not resolve', () => {
  it('is MongoDB unreachable (not a server failure), with the password masked', async () => {
    const err = await mongoStatus('mongodb+srv://ops:Sr3t-pass@cluster0.example.test/', {
      timeoutMs: 2000,
      replicaSet: false,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_unavailable' });
    expect((err as Error).message).toMatch(/querySrv E[A-Z]+/);
    expect((err as Error).message).not.toContain('Sr3t-pass');
  });
});
