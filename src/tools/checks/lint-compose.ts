import { readFileSync, realpathSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import {
  ComposeFileRejected,
  type LintFinding,
  lintCompose,
  type SwarmNodeFacts,
} from '../../knowledge/compose-lint.js';
import { defineTool } from '../define-tool.js';

const RULES = [
  'no_healthcheck',
  'no_memory_limit',
  'no_cpu_limit',
  'restart_always_managed',
  'debug_port_in_production',
  'stateful_volume_without_backup',
  'volume_without_disk_monitoring',
  'swarm_ignored_key',
  'swarm_unplaceable',
  'no_log_rotation',
  'shared_pinned_core',
  'cpuset_out_of_range',
  'shared_gpu',
  'gpu_without_reservation',
  'missing_required_variable',
] as const;

export const lintComposeTool = defineTool({
  name: 'lint_compose',
  title: 'Lint Compose files',
  description:
    "Checks the stack's Compose files (base plus overrides, merged as Compose merges them) for the handbook's " +
    'anti-patterns: no healthcheck, no memory/CPU limits, restart: always on orchestrator-managed agents, debug ports ' +
    'published in a production file, stateful volumes no backup covers or no disk threshold watches, json-file logs ' +
    "without rotation, two services pinned to a shared core or GPU, a cpuset beyond the engine's CPUs (GET /info), a " +
    'service of the GPU overlay that reserves no GPU. Each finding has file, service, line and fix. ' +
    'A file Compose would reject (YAML syntax, a top level or services that are not mappings) is an error naming file and line. ' +
    'Files are read only from the configured compose.dir (symlinks resolved: none may lead out of it). ' +
    'target swarm adds what docker stack deploy ignores (build, depends_on, container_name, restart…) and services ' +
    'whose placement no node of the swarm can meet.',
  summary:
    'Use to review the Compose files for anti-patterns (no healthcheck or limits, debug ports, volumes ' +
    'without backup). Returns findings with file, service, line and fix.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    files: z
      .array(
        z
          .string()
          .max(200)
          .regex(/^[\w./-]+\.ya?ml$/, 'must be a .yml/.yaml path'),
      )
      .max(10)
      .optional()
      .describe('Compose files relative to compose.dir, in merge order (default: config compose.files)'),
    target: z
      .enum(['compose', 'swarm'])
      .default('compose')
      .describe(
        'swarm: also flag keys docker stack deploy ignores, and (when DOCKER_HOST is a swarm manager) services no node can place',
      ),
  }),
  output: z.object({
    files: z.array(z.string()),
    findings: z.array(
      z.object({
        rule: z.enum(RULES),
        severity: z.enum(['error', 'warning', 'info']),
        file: z.string(),
        service: z.string(),
        line: z.number().nullable(),
        message: z.string(),
        fix: z.string(),
      }),
    ),
    summary: z.string(),
  }),
  async run(ctx, input) {
    const dir = resolve(ctx.config.compose.dir);
    const names = input.files ?? ctx.config.compose.files;
    const realDir = await realpath(dir).catch(() => {
      throw new ToolError('not_found', `compose.dir ${dir} does not exist or cannot be read`, {
        hint: 'set compose.dir in the config to the directory holding the Compose files',
      });
    });
    const files = await Promise.all(
      names.map(async (name) => {
        const path = resolve(dir, name);
        const rel = relative(dir, path);
        // Only files under compose.dir: a caller must not turn this into a file reader.
        if (!inside(rel)) throw new ToolError('not_allowed', `${name} is outside compose.dir (${dir})`);
        // …and not through a symlink either: the file as resolved must still be under compose.dir.
        const real = await realpath(path).catch(() => {
          throw new ToolError('not_found', `cannot read ${rel} in ${dir}`, {
            hint: 'set compose.dir / compose.files in the config, or pass files',
          });
        });
        if (!inside(relative(realDir, real)))
          throw new ToolError(
            'not_allowed',
            `${name} is a symbolic link (or lies under one) that leads out of compose.dir (${dir}) to ${real}: refused`,
            {
              hint: 'lint the file where it is by pointing compose.dir at its directory, or copy it into compose.dir',
            },
          );
        try {
          // The resolved path is read, so a link swapped after the check cannot redirect the read.
          return { file: rel, text: await readFile(real, 'utf8') };
        } catch {
          throw new ToolError('not_found', `cannot read ${rel} in ${dir}`, {
            hint: 'set compose.dir / compose.files in the config, or pass files',
          });
        }
      }),
    );
    // Placement is checked against the swarm's nodes when the engine is a manager that can list them.
    let nodes: SwarmNodeFacts[] | undefined;
    let placement = '';
    if (input.target === 'swarm') {
      const swarm = new SwarmAdapter(ctx.docker);
      if (await swarm.isManager(ctx.signal).catch(() => false))
        nodes = (await swarm.nodes(ctx.signal)).map((n) => ({
          id: n.id,
          hostname: n.hostname,
          role: n.role,
          labels: n.labels,
          memoryBytes: n.memoryBytes,
          nanoCpus: n.nanoCpus,
          schedulable: n.state === 'ready' && n.availability === 'active',
        }));
      else placement = '; placement not checked (the engine is not a swarm manager)';
    }
    // The engine's CPU count, for cpusets; lint works without an engine (the check is then skipped, and said so).
    const engineCpus = await ctx.docker.cpuCount(ctx.signal).catch(() => undefined);
    if (engineCpus === undefined)
      placement += "; cpusets not checked against the engine's CPUs (it could not be asked)";
    // ${VAR} in environment values as Compose expands them: .env, the overlay's .env.<name>
    // (docker-compose.<name>.yml among the files), then this process's environment over them.
    const readInDir = (name: string): string | null => {
      try {
        const real = realpathSync(resolve(dir, name));
        return inside(relative(realDir, real)) ? readFileSync(real, 'utf8') : null;
      } catch {
        return null;
      }
    };
    const overlays = files
      .map((f) => /^docker-compose\.([\w-]+)\.ya?ml$/.exec(f.file.split(sep).pop() ?? '')?.[1])
      .filter((x): x is string => !!x);
    const vars: Record<string, string | undefined> = {};
    for (const envFile of ['.env', ...overlays.map((o) => `.env.${o}`)]) {
      const text = readInDir(envFile);
      if (text !== null) Object.assign(vars, parseEnv(text));
    }
    Object.assign(vars, process.env);
    let findings: LintFinding[];
    try {
      findings = lintCompose(files, {
        managedServices: [ctx.config.scaling.agentService],
        backedUpVolumes: ctx.config.backup.volumes,
        ...(ctx.config.backup.volumes.length === 0
          ? { allNamedVolumesExcept: ctx.config.backup.exclude }
          : {}),
        monitoredVolumes: Object.keys(ctx.config.disk.volumes),
        target: input.target,
        ...(nodes ? { nodes } : {}),
        ...(engineCpus === undefined ? {} : { engineCpus }),
        requiredVariables: ctx.config.requiredVariables,
        vars,
        // env_file paths are relative to the Compose files, and read only inside compose.dir.
        readEnvFile: readInDir,
      });
    } catch (err) {
      if (!(err instanceof ComposeFileRejected)) throw err;
      throw new ToolError('invalid_input', `Compose would reject ${err.message}`, {
        hint: `fix the file at that line (\`docker compose -f <file> config\` shows the same error); nothing was linted`,
        cause: err,
      });
    }
    const errors = findings.filter((f) => f.severity === 'error').length;
    return {
      files: files.map((f) => f.file),
      findings,
      summary: `${
        findings.length
          ? `${findings.length} finding(s), ${errors} error(s) in ${files.map((f) => f.file).join(' + ')}`
          : `no anti-patterns found in ${files.map((f) => f.file).join(' + ')}`
      }${placement}`,
    };
  },
});

/** A path relative to a directory that stays inside it (not `..`, not on another root). */
function inside(rel: string): boolean {
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
