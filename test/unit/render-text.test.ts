import { describe, expect, it } from 'vitest';
import { hasRenderer, renderText } from '../../src/render/text.js';
import { findTool, registry } from '../../src/tools/registry.js';

// Text output is for people: a JSON object inside it (`{"severity": …}`) is a rendering that was
// never written. Fixtures are parsed with each tool's own output schema, so they are real outputs.
const RAW_JSON = /[{[]\s*"[^"\n]*"\s*:|"[A-Za-z_]+":\s*[[{"\d]/;

const output = (tool: string, value: unknown) => findTool(tool)!.output.parse(value);

const runbookOutput = {
  runbook: 'unhealthy-service',
  service: 'vizdoom',
  steps: [
    { tool: 'stack_health', ok: true, error: null },
    { tool: 'service_logs', ok: true, error: null },
  ],
  findings: [
    {
      severity: 'critical',
      title: 'vizdoom fails its healthcheck',
      explanation: 'the probe exits 1: renderer lost its display',
      evidence: ['health log: exit 1 "renderer lost its display"'],
    },
  ],
  actions: ['fix what the probe reports, then restart vizdoom'],
};

describe('every tool output is rendered as text', () => {
  it('each tool of the registry has a text renderer (no JSON fallback in CLI, MCP or Slack text)', () => {
    expect(registry.filter((t) => !hasRenderer(t.name)).map((t) => t.name)).toEqual([]);
  });

  it('`up`: a failing service gets its runbook findings as text, not JSON', () => {
    const text = renderText(
      'stack_up',
      output('stack_up', {
        project: 'p',
        compose: 'docker-compose 1.29.2',
        files: ['/s/docker-compose.yml'],
        ready: false,
        durationMs: 9000,
        services: [{ service: 'vizdoom', ready: false, failed: true, state: 'running', health: 'unhealthy' }],
        failures: [{ service: 'vizdoom', findings: output('run_runbook', runbookOutput) }],
        smoke: null,
        notes: [],
        summary: 'vizdoom (unhealthy) not healthy; runbook findings included',
      }),
    );
    expect(text).not.toMatch(RAW_JSON);
    expect(text).toContain('vizdoom: unhealthy-service runbook');
    expect(text).toContain(
      '[critical] vizdoom fails its healthcheck: the probe exits 1: renderer lost its display',
    );
    expect(text).toContain('health log: exit 1 "renderer lost its display"');
    expect(text).toContain('- fix what the probe reports, then restart vizdoom');
  });

  it('`approve`/get_approval: the executed request comes back as its tool text', () => {
    const approval = output('get_approval', {
      id: 'apr_0123456789ab',
      tool: 'prune_backups',
      status: 'done',
      requester: 'mcp:agent',
      plan: { summary: 'delete 1 backup', steps: ['delete 20261101T030000Z'], dataAtRisk: ['1 backup'] },
      createdAt: '2026-11-28T03:00:00.000Z',
      expiresAt: '2026-11-28T03:05:00.000Z',
      decidedBy: 'cli:alice',
      decidedVia: 'doom-ops approve',
      result: output('prune_backups', {
        policy: { daily: 7, weekly: 4, safety: 3 },
        repositories: [
          {
            name: 'local',
            url: '/srv/backups/restic',
            groups: [
              {
                component: 'volumes',
                target: 'nats-data',
                kind: 'requested',
                keep: ['20261128T030000Z-full'],
                remove: ['20261101T030000Z-full'],
              },
            ],
            removedBackups: ['20261101T030000Z-full'],
            held: [
              {
                backup: '20261020T030000Z-full',
                why: 'the interrupted restore of volumes (doom-ops restore with no arguments completes it) reads it',
              },
            ],
            snapshotsRemoved: 3,
            report: 'total prune: 3 blobs',
            error: null,
          },
        ],
        deleted: true,
      }),
      error: null,
    });
    const text = renderText('get_approval', approval);
    expect(text).not.toMatch(RAW_JSON);
    expect(text).toContain('apr_0123456789ab: done (by cli:alice via doom-ops approve)');
    expect(text).toMatch(
      /result:\n {2}retention: 7 daily, 4 weekly per component and target; newest 3 safety/,
    );
    expect(text).toMatch(/volumes:nats-data +keep 20261128T030000Z-full; removed 20261101T030000Z-full/);
    expect(text).toContain('whole backups removed: 20261101T030000Z-full');
    expect(text).toContain('kept 20261020T030000Z-full: the interrupted restore of volumes');
  });

  it('`restore`: each target restored is described in words', () => {
    const text = renderText(
      'restore',
      output('restore', {
        id: '20261128T030000Z',
        component: 'duckdb',
        from: 'local repository /srv/backups/restic',
        safetyBackup: '20261128T040000Z',
        completedInterrupted: false,
        restored: [
          {
            target: 'clau-doom-agent-1',
            result: {
              agent: 'clau-doom-agent-1',
              path: '/data/play_logs.duckdb',
              stopped: true,
              tables: { episodes: 100, strategies: 1 },
            },
          },
        ],
        durationMs: 2100,
      }),
    );
    expect(text).not.toMatch(RAW_JSON);
    expect(text).toContain(
      'clau-doom-agent-1: agent: clau-doom-agent-1; path: /data/play_logs.duckdb; stopped: yes; tables: episodes=100 strategies=1',
    );
  });
});

describe('backup: how each volume was read', () => {
  it('says which volumes were incremental (files unchanged) and which were streamed through the engine', () => {
    const o = output('backup', {
      id: '20261204T050000Z-volumes',
      phase: 'Completed',
      repository: '/b/restic',
      kind: 'volumes',
      components: [
        {
          component: 'volumes',
          target: 'nats-data',
          bytes: 2048,
          bytesAdded: 0,
          sha256: null,
          snapshot: 'abcd1234',
          access: 'directory',
          filesUnchanged: 12,
          node: null,
        },
        {
          component: 'volumes',
          target: 'remote-data',
          bytes: 4096,
          bytesAdded: 10,
          sha256: 'f'.repeat(64),
          snapshot: 'bcde2345',
          access: 'engine',
          filesUnchanged: null,
          node: null,
        },
        {
          component: 'volumes',
          target: 'agent-data@worker-2',
          bytes: 4096,
          bytesAdded: 10,
          sha256: 'e'.repeat(64),
          snapshot: 'cdef3456',
          access: 'engine',
          filesUnchanged: null,
          node: 'worker-2',
        },
      ],
      failures: [],
      skipped: [],
      offsite: [],
      notes: [],
      verified: true,
      durationMs: 1200,
    });
    const text = renderText('backup', o);
    expect(text).toMatch(/nats-data .*incremental, 12 file\(s\) unchanged/);
    expect(text).toMatch(/remote-data .*ffffffffffffffff {2}\(streamed through the engine\)/);
    // On Swarm: through the engine of the node that holds the volume.
    expect(text).toMatch(
      /agent-data@worker-2 .*eeeeeeeeeeeeeeee {2}\(streamed through node worker-2's engine\)/,
    );
  });
});

describe('backups: a damaged repository is said first, with or without backups to list', () => {
  const damage = [
    'cannot list the snapshots of restic repository /srv/r: restic could not load 1 snapshot file(s) of it (32675ec7 (invalid data returned)); the repository is damaged',
  ];
  it('leads the list with the warning', () => {
    const text = renderText(
      'list_backups',
      output('list_backups', { repository: 'local repository /srv/r', dir: '/srv', backups: [], damage }),
    );
    expect(text.split('\n')).toEqual(['no backups (local repository /srv/r)', `WARNING: ${damage[0]}`]);
  });
});

describe('logs: a size cap is never reported as "no matching lines"', () => {
  const logs = (lines: number, cut: number, maxBytes: number) =>
    renderText(
      'service_logs',
      output('service_logs', {
        project: 'p',
        service: 'nats',
        containers: ['p-nats-1'],
        lines: Array.from({ length: lines }, (_, i) => ({
          container: 'p-nats-1',
          stream: 'stdout',
          time: `2026-11-28T03:00:0${i}Z`,
          level: 'info',
          text: `line ${i}`,
        })),
        scannedLines: lines + cut,
        matchedLines: lines + cut,
        scanLimitReached: false,
        truncated: cut > 0,
        maxBytes,
        cutBySize: cut,
        redactions: 0,
        unavailable: [],
      }),
    );

  it('every line cut (--max-bytes 1): says so, with the cap', () => {
    const text = logs(0, 3, 1);
    expect(text).not.toMatch(/no matching lines/);
    expect(text).toMatch(/3 matching line\(s\) cut at the size cap of 1 byte\(s\).*raise --max-bytes/);
  });

  it('some lines cut: says how many older ones the cap left out', () => {
    expect(logs(2, 5, 14)).toMatch(/-- 5 older matching line\(s\) cut at the size cap of 14 byte\(s\)/);
  });

  it('nothing matched: still "no matching lines"', () => {
    expect(logs(0, 0, 262144)).toMatch(/no matching lines \(0 scanned in p-nats-1\)/);
  });
});
