import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ComposeFileRejected,
  type LintOptions,
  type LintRule,
  lintCompose,
} from '../../src/knowledge/compose-lint.js';
import { lintComposeTool } from '../../src/tools/checks/lint-compose.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { testContext } from '../helpers/context.js';

const OPTS: LintOptions = {
  managedServices: ['agent'],
  backedUpVolumes: [],
  monitoredVolumes: [],
};
const lint = (text: string, file = 'docker-compose.yml', opts = OPTS) => lintCompose([{ file, text }], opts);
const rules = (text: string, file?: string, opts = OPTS) => lint(text, file, opts).map((f) => f.rule);

// The handbook's "Anti-Patterns to Avoid", wrong and correct, as it writes them (deployment-ops.md).
const HANDBOOK: Array<{ rule: LintRule; wrong: string; correct: string; file?: string; opts?: typeof OPTS }> =
  [
    {
      rule: 'no_healthcheck',
      wrong: 'services:\n  orchestrator:\n    image: clau-doom-orchestrator\n    # No healthcheck\n',
      correct:
        'services:\n  orchestrator:\n    image: clau-doom-orchestrator\n    healthcheck:\n      test: ["CMD", "grpc_health_probe", "-addr=:50051"]\n      interval: 10s\n      timeout: 5s\n      retries: 3\n',
    },
    {
      rule: 'no_memory_limit',
      wrong: 'services:\n  vizdoom:\n    image: clau-doom-vizdoom\n    # No resource limits\n',
      correct:
        'services:\n  vizdoom:\n    image: clau-doom-vizdoom\n    deploy:\n      resources:\n        limits:\n          cpus: "2.0"\n          memory: 2G\n',
    },
    {
      rule: 'no_cpu_limit',
      wrong: 'services:\n  vizdoom:\n    image: clau-doom-vizdoom\n',
      correct:
        'services:\n  vizdoom:\n    image: clau-doom-vizdoom\n    deploy:\n      resources:\n        limits:\n          cpus: "2.0"\n          memory: 2G\n',
    },
    {
      rule: 'restart_always_managed',
      wrong:
        'services:\n  agent:\n    restart: always  # Interferes with orchestrator lifecycle management\n',
      correct: 'services:\n  agent:\n    restart: "no"  # Orchestrator manages agent lifecycle\n',
    },
    {
      rule: 'debug_port_in_production',
      wrong:
        '# docker-compose.yml (used in production)\nservices:\n  orchestrator:\n    ports:\n      - "2345:2345"  # Delve debugger port exposed\n',
      correct:
        '# docker-compose.dev.yml (development only)\nservices:\n  orchestrator:\n    ports:\n      - "2345:2345"  # Debug port only in dev\n',
    },
    {
      // Same YAML in the handbook; "correct" adds a scheduled, verified backup, which doom-ops knows from its config.
      rule: 'stateful_volume_without_backup',
      wrong: 'services:\n  mongodb:\n    volumes:\n      - mongodb-data:/data/db\n',
      correct: 'services:\n  mongodb:\n    volumes:\n      - mongodb-data:/data/db\n',
      opts: { managedServices: ['agent'], backedUpVolumes: ['mongodb-data'], monitoredVolumes: [] },
    },
    {
      // "Correct" in the handbook is a monitoring script; doom-ops monitors the volumes given thresholds in config.
      rule: 'volume_without_disk_monitoring',
      wrong: '# No monitoring, volumes grow unbounded\nvolumes:\n  duckdb-data:\n  opensearch-data:\n',
      correct: 'volumes:\n  duckdb-data:\n  opensearch-data:\n',
      opts: {
        managedServices: ['agent'],
        backedUpVolumes: [],
        monitoredVolumes: ['duckdb-data', 'opensearch-data'],
      },
    },
  ];

describe('lint_compose on the handbook examples', () => {
  it.each(HANDBOOK.map((h) => [h.rule, h] as const))(
    '%s: reported on the wrong example, not on the correct one',
    (rule, h) => {
      expect(rules(h.wrong)).toContain(rule);
      const correctFile =
        rule === 'debug_port_in_production' ? 'docker-compose.dev.yml' : 'docker-compose.yml';
      expect(rules(h.correct, correctFile, h.opts ?? OPTS)).not.toContain(rule);
    },
  );

  it('backup.volumes empty (the default) covers every named volume; backup.exclude takes one out again', () => {
    const yaml = 'services:\n  mongodb:\n    volumes:\n      - mongodb-data:/data/db\n      - nats-data:/x\n';
    const opts = { managedServices: ['agent'], backedUpVolumes: [], monitoredVolumes: [] };
    const covered = lint(yaml, 'docker-compose.yml', { ...opts, allNamedVolumesExcept: [] });
    expect(covered.filter((f) => f.rule === 'stateful_volume_without_backup')).toEqual([]);
    const excluded = lint(yaml, 'docker-compose.yml', { ...opts, allNamedVolumesExcept: ['mongodb-data'] });
    expect(excluded.filter((f) => f.rule === 'stateful_volume_without_backup')).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('volume mongodb-data of mongodb'),
        fix: expect.stringMatching(/^remove mongodb-data from backup.exclude/),
      }),
    ]);
  });

  it('the handbook correct examples combined into one service report nothing at all', () => {
    const all =
      'services:\n  agent:\n    image: clau-doom-agent\n    restart: "no"\n    healthcheck:\n      test: ["CMD", "grpc_health_probe", "-addr=:50052"]\n    deploy:\n      resources:\n        limits: { cpus: "0.5", memory: 512M }\n    logging: { driver: json-file, options: { max-size: "10m", max-file: "3" } }\n    volumes:\n      - mongodb-data:/data\n';
    expect(
      lint(all, 'docker-compose.yml', {
        managedServices: ['agent'],
        backedUpVolumes: ['mongodb-data'],
        monitoredVolumes: ['mongodb-data'],
      }),
    ).toEqual([]);
  });

  it('merges overrides: limits in docker-compose.prod.yml satisfy the base; findings carry file, service, line and fix', () => {
    const base = 'services:\n  nats:\n    image: nats\n    healthcheck:\n      test: ["CMD", "true"]\n';
    const prod =
      'services:\n  nats:\n    deploy:\n      resources:\n        limits: { memory: 512M, cpus: "1" }\n    restart: unless-stopped\n    logging: { driver: local }\n';
    expect(
      lintCompose(
        [
          { file: 'docker-compose.yml', text: base },
          { file: 'docker-compose.prod.yml', text: prod },
        ],
        OPTS,
      ),
    ).toEqual([]);
    const [f] = lintCompose(
      [
        {
          file: 'docker-compose.yml',
          text: '\n\nservices:\n  x:\n    image: y\n    healthcheck: { test: ["CMD", "true"] }\n    cpus: 1\n',
        },
      ],
      OPTS,
    );
    expect(f).toMatchObject({
      rule: 'no_memory_limit',
      file: 'docker-compose.yml',
      service: 'x',
      line: 4,
      fix: expect.stringMatching(/deploy\.resources\.limits\.memory/),
    });
  });
});

describe('lint_compose tool', () => {
  it('lints the test stack file and refuses paths outside compose.dir', async () => {
    const ctx = testContext('lintproj', undefined, {
      compose: { dir: 'test/stack', files: ['docker-compose.yml'] },
    });
    const out = await invokeTool(lintComposeTool, ctx, {});
    expect(out.findings.map((f) => f.rule)).toContain('no_cpu_limit'); // the test stack sets memory limits only
    expect(out.findings.filter((f) => f.rule === 'no_memory_limit')).toEqual([]);
    await expect(invokeTool(lintComposeTool, ctx, { files: ['../../package.json'] })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(invokeTool(lintComposeTool, ctx, { files: ['../../../etc/x.yml'] })).rejects.toMatchObject({
      code: 'not_allowed',
    });
    const dir = mkdtempSync(join(tmpdir(), 'doomlint-'));
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  agent:\n    restart: always\n');
    const mine = testContext('lintproj', undefined, { compose: { dir, files: ['docker-compose.yml'] } });
    expect((await invokeTool(lintComposeTool, mine, {})).findings.map((f) => f.rule)).toContain(
      'restart_always_managed',
    );
  });
});

describe('lint_compose on files Compose rejects (issue 17.7): an error naming file and line, never "no anti-patterns"', () => {
  const rejected = (text: string, file = 'docker-compose.yml') => {
    try {
      lint(text, file);
    } catch (err) {
      expect(err).toBeInstanceOf(ComposeFileRejected);
      return (err as ComposeFileRejected).problems;
    }
    throw new Error('lintCompose accepted a file Compose rejects');
  };

  it.each([
    // The forms: a YAML syntax error, a top level that is not a mapping, services not a mapping.
    ['a YAML syntax error', 'services:\n  web:\n    image: x\n   bad: [\n', 4, /YAML syntax error/],
    ['a top level that is a list', '- web\n- db\n', 1, /top level must be a mapping, not a list/],
    ['a top level that is a string', '"just a string"\n', 1, /top level must be a mapping, not a string/],
    ['services as a list', 'services:\n  - web\n', 2, /services must be a mapping, not a list/],
    [
      'a service that is a string',
      'services:\n  db:\n    image: x\n  web: nginx\n',
      4,
      /service web must be a mapping, not a string/,
    ],
    // More of the kind: what Compose v2's loader refuses although the YAML parses into something.
    [
      'a duplicate key',
      'services:\n  web:\n    image: x\n  web:\n    image: y\n',
      4,
      /YAML syntax error: Map keys must be unique/,
    ],
    ['two YAML documents', 'services: {}\n---\nservices: {}\n', 2, /more than one YAML document/],
    // An alias with no anchor: the yaml parser reports nothing until the value is read.
    [
      'a merge of an undefined alias',
      'services:\n  s:\n    image: x\n    <<: *nope\n',
      4,
      /alias \*nope has no anchor/,
    ],
    [
      'an alias used before its anchor',
      'services:\n  a:\n    environment: *env\n  b:\n    environment: &env { X: "1" }\n',
      3,
      /alias \*env has no anchor/,
    ],
    [
      'volumes as a list',
      'services:\n  web: { image: x }\nvolumes: [data]\n',
      3,
      /volumes must be a mapping, not a list/,
    ],
  ] as const)('%s', (_what, text, line, message) => {
    const [p] = rejected(text, 'compose.bad.yml');
    expect(p).toMatchObject({ file: 'compose.bad.yml', line, message: expect.stringMatching(message) });
  });

  it('an empty file is rejected as empty; null sections and services are not (Compose accepts them)', () => {
    expect(rejected('# nothing here\n')[0]).toMatchObject({ line: null, message: 'the file is empty' });
    expect(lint('services:\n  web:\nvolumes:\n')).toEqual([]);
  });

  it('the tool turns it into an invalid_input error that names file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomlint-'));
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  web:\n    image: x\n   bad: [\n');
    const ctx = testContext('lintproj', undefined, { compose: { dir, files: ['docker-compose.yml'] } });
    await expect(invokeTool(lintComposeTool, ctx, {})).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^Compose would reject docker-compose\.yml:4:1: YAML syntax error/),
    });
  });
});

describe('lint_compose never reads through a symlink out of compose.dir (issue 17.7)', () => {
  const root = mkdtempSync(join(tmpdir(), 'doomlink-'));
  const dir = join(root, 'compose');
  const outside = join(root, 'elsewhere');
  mkdirSync(dir);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.yml'), 'services:\n  db:\n    image: mongo\n');
  writeFileSync(join(dir, 'real.yml'), 'services:\n  web:\n    image: x\n');
  symlinkSync(join(outside, 'secret.yml'), join(dir, 'link.yml'));
  symlinkSync(outside, join(dir, 'linked-dir'));
  symlinkSync(join(dir, 'real.yml'), join(dir, 'inside-link.yml'));
  const ctx = () => testContext('lintproj', undefined, { compose: { dir, files: ['real.yml'] } });

  it.each([
    ['a file symlink pointing outside', 'link.yml'],
    ['a file under a directory symlink pointing outside', 'linked-dir/secret.yml'],
  ])('%s is refused', async (_what, file) => {
    await expect(invokeTool(lintComposeTool, ctx(), { files: [file] })).rejects.toMatchObject({
      code: 'not_allowed',
      message: expect.stringMatching(/symbolic link .* leads out of compose\.dir/),
    });
  });

  it('a symlink that stays inside compose.dir is linted', async () => {
    const out = await invokeTool(lintComposeTool, ctx(), { files: ['inside-link.yml'] });
    expect(out.findings.map((f) => f.service)).toContain('web');
  });
});

describe('lint --target swarm', () => {
  const STACK = `services:
  orchestrator:
    image: clau-doom/orchestrator
    build: ./orchestrator
    container_name: orch
    depends_on: [nats]
    restart: unless-stopped
    healthcheck: { test: ["CMD", "true"] }
    deploy: { resources: { limits: { memory: 1G, cpus: "1" } } }
  ollama:
    image: ollama/ollama
    healthcheck: { test: ["CMD", "true"] }
    deploy:
      placement: { constraints: ["node.labels.gpu == true"] }
      resources: { limits: { memory: 8G, cpus: "2" } }
  trainer:
    image: clau-doom/trainer
    healthcheck: { test: ["CMD", "true"] }
    deploy:
      resources: { limits: { memory: 64G, cpus: "4" }, reservations: { memory: 48G } }
  nats:
    image: nats
    healthcheck: { test: ["CMD", "true"] }
    deploy:
      placement: { constraints: ["node.role == manager"] }
      resources: { limits: { memory: 256M, cpus: "0.5" } }
`;
  const node = (hostname: string, role: 'manager' | 'worker', labels: Record<string, string> = {}) => ({
    id: hostname,
    hostname,
    role,
    labels,
    memoryBytes: 16 * 1024 ** 3,
    nanoCpus: 8e9,
    schedulable: true,
  });

  it('flags the keys docker stack deploy ignores, each with what to use instead', () => {
    const f = lint(STACK, 'docker-compose.yml', { ...OPTS, target: 'swarm' }).filter(
      (x) => x.rule === 'swarm_ignored_key',
    );
    expect(f.map((x) => [x.service, x.message.match(/`(\w+)`/)![1]])).toEqual([
      ['orchestrator', 'build'],
      ['orchestrator', 'container_name'],
      ['orchestrator', 'depends_on'],
      ['orchestrator', 'restart'],
    ]);
    expect(f.find((x) => x.message.includes('`restart`'))!.fix).toMatch(/deploy\.restart_policy/);
    // Not flagged for a Compose target.
    expect(lint(STACK).some((x) => x.rule.startsWith('swarm_'))).toBe(false);
  });

  it('with the nodes known: a constraint no node meets, and a reservation larger than every node', () => {
    const nodes = [
      node('m1', 'manager'),
      node('w1', 'worker'),
      { ...node('w2', 'worker', { gpu: 'true' }), schedulable: false },
    ];
    const f = lint(STACK, 'docker-compose.yml', { ...OPTS, target: 'swarm', nodes }).filter(
      (x) => x.rule === 'swarm_unplaceable',
    );
    expect(f.map((x) => x.service)).toEqual(['ollama', 'trainer']);
    expect(f[0]!.message).toBe(
      'ollama can never be placed: no schedulable node meets its constraints (node.labels.gpu == true)',
    );
    expect(f[1]!.message).toMatch(
      /^trainer can never be placed: it reserves 48\.0GiB of memory, more than any node/,
    );
    // A schedulable GPU node makes ollama placeable.
    const ok = lint(STACK, 'docker-compose.yml', {
      ...OPTS,
      target: 'swarm',
      nodes: [node('m1', 'manager'), node('w2', 'worker', { gpu: 'true' })],
    });
    expect(ok.filter((x) => x.rule === 'swarm_unplaceable').map((x) => x.service)).toEqual(['trainer']);
  });
});

describe('lint --target swarm placement: Swarm compares constraint values without regard to case', () => {
  it('node.hostname == Worker-1 matches a node called worker-1', () => {
    const f = lint(
      `services:
  a:
    image: a
    healthcheck: { test: ["CMD", "true"] }
    deploy:
      placement: { constraints: ["node.hostname == Worker-1"] }
      resources: { limits: { memory: 1G, cpus: "1" } }
`,
      'docker-compose.yml',
      {
        ...OPTS,
        target: 'swarm',
        nodes: [
          {
            id: 'x',
            hostname: 'worker-1',
            role: 'worker',
            labels: {},
            memoryBytes: 2 ** 31,
            nanoCpus: 2e9,
            schedulable: true,
          },
        ],
      },
    );
    expect(f.filter((x) => x.rule === 'swarm_unplaceable')).toEqual([]);
  });
});

describe('lint --target swarm placement: ${VAR} as docker stack deploy expands it (from the environment)', () => {
  const FILE = `services:
  a:
    image: a
    healthcheck: { test: ["CMD", "true"] }
    deploy:
      placement: { constraints: ["node.hostname == \${TARGET_NODE}"] }
      resources: { limits: { memory: 1G, cpus: "1" }, reservations: { memory: "\${RESERVE:-1G}" } }
`;
  const nodes = [
    {
      id: 'x',
      hostname: 'gpu-1',
      role: 'worker' as const,
      labels: {},
      memoryBytes: 2 ** 33,
      nanoCpus: 2e9,
      schedulable: true,
    },
  ];
  const unplaceable = (env: Record<string, string>) =>
    lint(FILE, 'docker-compose.yml', { ...OPTS, target: 'swarm', nodes, env }).filter(
      (x) => x.rule === 'swarm_unplaceable',
    );

  it('a constraint naming a node through a variable is placeable when the variable names it', () => {
    expect(unplaceable({ TARGET_NODE: 'gpu-1' })).toEqual([]);
  });

  it('unset, the constraint compares with an empty string, and the finding says the variable is not set', () => {
    const [f] = unplaceable({});
    expect(f!.message).toMatch(/its constraints \(node\.hostname == \)/);
    expect(f!.message).toContain(
      '${TARGET_NODE} is not set here: docker stack deploy would substitute an empty string',
    );
  });

  it('a reservation given by a variable with a default is checked at its value', () => {
    const [f] = unplaceable({ TARGET_NODE: 'gpu-1', RESERVE: '64G' });
    expect(f!.message).toMatch(/reserves 64\.0GiB of memory, more than any node/);
  });
});
