import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingVariables, serviceEnvironment } from '../../src/knowledge/required-vars.js';
import { lintComposeTool } from '../../src/tools/checks/lint-compose.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { unitContext } from '../helpers/unit-context.js';

describe('a service environment as Compose computes it', () => {
  it('env_file, then environment over it (list and map), ${VAR} from .env, bare KEY from the shell', () => {
    const files: Record<string, string> = { 'a.env': 'A=from-file\nB=file\n# c\nEMPTY=\n' };
    const { env, unreadable } = serviceEnvironment(
      [
        { envFiles: ['a.env', 'missing.env'], environment: ['B=${B_VAL}', 'C', 'D=$$literal'] },
        { envFiles: [], environment: { E: '${UNSET:-dflt}', F: null } },
      ],
      { B_VAL: 'interp', C: 'shell', F: 'shell-f' },
      (p) => files[p] ?? null,
    );
    expect(env).toEqual({
      A: 'from-file',
      B: 'interp',
      EMPTY: '',
      C: 'shell',
      D: '$literal',
      E: 'dflt',
      F: 'shell-f',
    });
    expect(unreadable).toEqual(['missing.env']);
    expect(missingVariables(env, ['A', 'EMPTY', 'NOPE'])).toEqual([
      { name: 'EMPTY', empty: true },
      { name: 'NOPE', empty: false },
    ]);
  });
});

describe('lint_compose reports missing or empty required variables by name, never their values', () => {
  it('reads .env, the overlay’s .env.prod and env_file inside compose.dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomreq-'));
    const svc = (name: string, extra: string) =>
      `  ${name}:\n    image: x\n    healthcheck: { test: ["CMD", "true"] }\n    deploy: { resources: { limits: { memory: 1G, cpus: "1" } } }\n    logging: { driver: local }\n${extra}`;
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      `services:\n${svc('orchestrator', '    env_file: orch.env\n    environment:\n      - NATS_URL=${NATS_URL}\n      - OPENSEARCH_ENDPOINT=${OS_URL}\n')}${svc('agent', '    environment: { NATS_URL: "${NATS_URL}", DUCKDB_DATA_PATH: /data/duckdb }\n')}`,
    );
    writeFileSync(
      join(dir, 'docker-compose.prod.yml'),
      'services:\n  agent:\n    environment: { GRPC_ENDPOINT: "${GRPC}" }\n',
    );
    writeFileSync(
      join(dir, 'orch.env'),
      'MONGODB_URI=mongodb://admin:s3cr3t-pw-77@mongodb:27017/clau-doom\n',
    );
    writeFileSync(join(dir, '.env'), 'NATS_URL=nats://nats:4222\nOS_URL=\n');
    writeFileSync(join(dir, '.env.prod'), 'GRPC=orchestrator:50051\n');
    const ctx = unitContext({ docker: { cpuCount: async () => 4 } });
    ctx.config = {
      ...ctx.config,
      compose: { ...ctx.config.compose, dir },
      requiredVariables: {
        orchestrator: ['NATS_URL', 'MONGODB_URI', 'OPENSEARCH_ENDPOINT'],
        agent: ['NATS_URL', 'GRPC_ENDPOINT', 'DUCKDB_DATA_PATH'],
      },
    };
    const run = async (files: string[]) =>
      (
        (await invokeTool(lintComposeTool, ctx, { files })) as {
          findings: Array<{ rule: string; service: string; message: string; line: number | null }>;
        }
      ).findings.filter((f) => f.rule === 'missing_required_variable');
    const base = await run(['docker-compose.yml']);
    expect(base.map((f) => [f.service, f.message.split(' in its')[0]])).toEqual([
      ['orchestrator', 'orchestrator sets OPENSEARCH_ENDPOINT empty'],
      ['agent', 'agent has no GRPC_ENDPOINT'],
    ]);
    // An emptied variable is named at its own line (list form here); a missing one at the service.
    expect(base.map((f) => f.line)).toEqual([10, 11]);
    // With the prod overlay (and its .env.prod), the agent has GRPC_ENDPOINT.
    const prod = await run(['docker-compose.yml', 'docker-compose.prod.yml']);
    expect(prod.map((f) => f.service)).toEqual(['orchestrator']);
    expect(JSON.stringify([base, prod])).not.toContain('s3cr3t-pw-77');
    expect(JSON.stringify([base, prod])).not.toContain('nats://');
  });
});
