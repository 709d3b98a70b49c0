import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { ApprovalStore } from '../../src/safety/approvals.js';
import { canonical, preApproved } from '../../src/safety/approver.js';
import { JsonlAuditStore } from '../../src/safety/audit.js';
import { StackLock } from '../../src/safety/lock.js';
import { isApprover, roleOf } from '../../src/safety/roles.js';

const dir = () => mkdtempSync(join(tmpdir(), 'doomsafety-'));
const plan = { summary: 's', steps: ['x'], dataAtRisk: [], fingerprint: 'f1' };

describe('StackLock', () => {
  it('serializes, names the holder, and is free again after release', async () => {
    const lock = new StackLock(dir());
    const release = await lock.acquire('p', 'scale_service', 'cli:alice');
    await expect(lock.acquire('p', 'restart_service', 'cli:bob')).rejects.toMatchObject({
      code: 'busy',
      message: expect.stringMatching(/scale_service by cli:alice is running since/),
    });
    await expect(lock.acquire('other', 'x', 'y')).resolves.toBeTypeOf('function');
    release();
    await expect(lock.acquire('p', 'restart_service', 'cli:bob')).resolves.toBeTypeOf('function');
  });

  it('queues a caller that may wait: it gets the lock once released, or busy when the wait runs out', async () => {
    const lock = new StackLock(dir());
    const release = await lock.acquire('p', 'backup', 'cli:alice');
    const waits: string[] = [];
    const queued = lock.acquire('p', 'backup', 'cli:bob', { waitMs: 10_000, onWait: (m) => waits.push(m) });
    let got = false;
    void queued.then(() => {
      got = true;
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(got).toBe(false);
    expect(waits).toEqual([expect.stringMatching(/backup by cli:alice/)]);
    release();
    const releaseBob = await queued;
    await expect(lock.acquire('p', 'x', 'cli:carol', { waitMs: 300 })).rejects.toMatchObject({
      code: 'busy',
      message: expect.stringMatching(/backup by cli:bob/),
    });
    releaseBob();
    const ac = new AbortController();
    const holder = await lock.acquire('p', 'backup', 'cli:alice');
    const aborted = lock.acquire('p', 'backup', 'cli:bob', { waitMs: 10_000, signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toThrow(/abort/i);
    holder();
  });

  it('takes over a lock whose process died, or that is too old', async () => {
    const d = dir();
    writeFileSync(
      join(d, 'p.lock'),
      JSON.stringify({
        pid: 2 ** 22 + 7,
        host: hostname(),
        operation: 'x',
        principal: 'ghost',
        since: new Date().toISOString(),
      }),
    );
    await expect(new StackLock(d).acquire('p', 'y', 'me')).resolves.toBeTypeOf('function');
    writeFileSync(
      join(d, 'q.lock'),
      JSON.stringify({
        pid: process.pid,
        host: 'elsewhere',
        operation: 'x',
        principal: 'old',
        since: '2020-01-01T00:00:00Z',
      }),
    );
    await expect(new StackLock(d).acquire('q', 'y', 'me')).resolves.toBeTypeOf('function');
  });
});

describe('approvals', () => {
  it('are single use and expire', () => {
    const store = new ApprovalStore(dir());
    const r = store.create(
      { tool: 't', input: {}, project: 'p', requester: 'mcp:a', requesterSurface: 'mcp', plan },
      60_000,
    );
    expect(store.decide(r.id, 'cli:b', true).status).toBe('approved');
    expect(() => store.decide(r.id, 'cli:b', true)).toThrow(/used once/);
    const old = store.create(
      { tool: 't', input: {}, project: 'p', requester: 'mcp:a', requesterSurface: 'mcp', plan },
      -1,
    );
    expect(store.get(old.id).status).toBe('expired');
    expect(() => store.decide(old.id, 'cli:b', true)).toThrow(/expired/);
    expect(() => store.get('../../etc/passwd')).toThrow(/not an approval id/);
  });

  it('bind to tool, normalized input, requester, project and plan', async () => {
    const record = {
      id: 'apr_000000000000',
      tool: 'scale_agents',
      input: { replicas: 2, force: true },
      project: 'p',
      requester: 'mcp:a',
      requesterSurface: 'mcp',
      plan,
      status: 'approved' as const,
      createdAt: '',
      expiresAt: '',
      decidedBy: 'cli:b',
    };
    const approve = preApproved(record);
    const req = {
      tool: 'scale_agents',
      input: { force: true, replicas: 2 },
      plan,
      principal: { id: 'mcp:a', surface: 'mcp' as const },
      project: 'p',
    };
    expect(await approve(req)).toMatchObject({ approved: true, approver: 'cli:b' });
    expect(await approve({ ...req, input: { force: true, replicas: 1 } })).toMatchObject({ approved: false });
    expect(await approve({ ...req, principal: { id: 'mcp:other', surface: 'mcp' } })).toMatchObject({
      approved: false,
    });
    expect(await approve({ ...req, tool: 'restart_service' })).toMatchObject({ approved: false });
    expect(await approve({ ...req, plan: { ...plan, fingerprint: 'f2' } })).toMatchObject({
      approved: false,
      code: 'conflict',
    });
    expect(canonical({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe('{"a":[1,{"d":2}],"b":1}');
  });
});

describe('audit log', () => {
  it('an entry after a line cut by a crash starts on its own line: the damaged line never swallows it', async () => {
    const path = join(dir(), 'audit.jsonl');
    writeFileSync(path, '{"time":"2026-11-30T00:00:00Z","event":"requ');
    const audit = new JsonlAuditStore(path);
    audit.append({ event: 'requested', principal: 'cli:a', surface: 'cli', tool: 'scale_service' });
    audit.append({ event: 'succeeded', principal: 'cli:a', surface: 'cli', tool: 'scale_service' });
    const { entries, damaged } = await audit.query();
    expect(damaged).toBe(1);
    expect(entries.map((e) => e.event)).toEqual(['requested', 'succeeded']);
  });

  it('a state dir that cannot hold the log is a clear error naming it', () => {
    const file = join(dir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const audit = new JsonlAuditStore(join(file, 'audit.jsonl'));
    expect(() => audit.append({ event: 'requested', principal: 'cli:a', surface: 'cli', tool: 't' })).toThrow(
      expect.objectContaining({
        code: 'not_allowed',
        message: expect.stringContaining(`cannot create the directory ${file}`),
      }),
    );
  });

  it('appends redacted JSON lines and queries them', async () => {
    const path = join(dir(), 'audit.jsonl');
    const audit = new JsonlAuditStore(path);
    audit.append({
      event: 'requested',
      principal: 'cli:a',
      surface: 'cli',
      tool: 'restore',
      input: { uri: 'mongodb://u:hunter22@db/x' },
    });
    audit.append({ event: 'succeeded', principal: 'cli:a', surface: 'cli', tool: 'restore' });
    expect(readFileSync(path, 'utf8')).not.toContain('hunter22');
    expect((await audit.query({ tool: 'restore' })).entries.map((e) => e.event)).toEqual([
      'requested',
      'succeeded',
    ]);
    expect(await new JsonlAuditStore(join(dir(), 'none.jsonl')).query()).toEqual({ entries: [], damaged: 0 });
  });

  it('redacts values before serialising: quotes, backslashes and secret-named keys keep every line valid JSON', async () => {
    const path = join(dir(), 'audit.jsonl');
    const audit = new JsonlAuditStore(path);
    // The field report: a quote after a secret-looking key= pattern, redacted after serialising, broke the line.
    audit.append({
      event: 'refused',
      principal: 'mcp:x',
      surface: 'mcp',
      tool: 'update_service',
      input: { service: 'dashboard', image: 'auth=a"b', note: 'password=p\\q"r', token: 'tok"en\\1' },
    });
    audit.append({
      event: 'refused',
      principal: 'mcp:x',
      surface: 'mcp',
      tool: 'update_service',
      input: { x: '\\"' },
    });
    const text = readFileSync(path, 'utf8');
    for (const line of text.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(text).not.toContain('tok\\"en');
    const { entries, damaged } = await audit.query();
    expect(damaged).toBe(0);
    expect(entries).toHaveLength(2);
    expect(entries[0]!.input).toMatchObject({ service: 'dashboard', token: '***' });
  });

  it('a damaged line is skipped and counted, never fatal to reading the rest', async () => {
    const path = join(dir(), 'audit.jsonl');
    const audit = new JsonlAuditStore(path);
    audit.append({ event: 'requested', principal: 'cli:a', surface: 'cli', tool: 'restore' });
    writeFileSync(
      path,
      '{"time":"2026-01-01T00:00:00Z","event":"requested","input":{"image":"auth=***b"}}x\n',
      {
        flag: 'a',
      },
    );
    writeFileSync(path, '{"time": "cut short\n', { flag: 'a' });
    audit.append({ event: 'succeeded', principal: 'cli:a', surface: 'cli', tool: 'restore' });
    const { entries, damaged } = await audit.query();
    expect(entries.map((e) => e.event)).toEqual(['requested', 'succeeded']);
    expect(damaged).toBe(2);
  });
});

describe('roles: who may approve', () => {
  const config = configSchema.parse({});
  it('MCP over stdio is the local user (approver); an HTTP token holder is an operator unless config says otherwise', () => {
    const stdio = { id: 'mcp:stdio:alice', surface: 'mcp' as const, transport: 'stdio' as const };
    const http = { id: 'mcp:http', surface: 'mcp' as const, transport: 'http' as const };
    expect(roleOf(config, stdio)).toBe('approver');
    expect(roleOf(config, http)).toBe('operator');
    // A principal that does not say how it came in is treated as the remote (weaker) kind.
    expect(isApprover(config, { id: 'mcp:x', surface: 'mcp' })).toBe(false);
    expect(isApprover(config, http)).toBe(false);
    const made = configSchema.parse({
      roles: { principals: { 'mcp:http': 'approver', 'mcp:stdio:bob': 'viewer' } },
    });
    expect(isApprover(made, http)).toBe(true);
    expect(roleOf(made, { ...stdio, id: 'mcp:stdio:bob' })).toBe('viewer');
    expect(roleOf(configSchema.parse({ roles: { defaults: { mcpStdio: 'operator' } } }), stdio)).toBe(
      'operator',
    );
  });
});
