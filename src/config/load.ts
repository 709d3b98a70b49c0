import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ToolError } from '../errors.js';
import { type Config, configSchema } from './schema.js';

export type { Config } from './schema.js';

/** config/default.yaml ships next to dist/ and src/ alike. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('doom-ops: cannot find the package root (package.json) above its own files');
}

/** The YAML parser, loaded on first use (a CLI run with only the defaults never needs it). */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ToolError('config_invalid', `cannot read ${what} ${path}: ${(err as Error).message}`, {
      hint: 'check DOOM_OPS_CONFIG points to a readable YAML file',
    });
  }
}

function readYaml(path: string, what: string, text = readText(path, what)): Record<string, unknown> {
  try {
    const value = parseYaml(text) ?? {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('top level must be a mapping');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ToolError('config_invalid', `${what} ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

/** config/default.yaml, parsed ahead of time (`npm run config:json`): what it holds, and of which text. */
export const DEFAULTS_JSON = 'default.yaml.json';

export interface PrecompiledDefaults {
  '//': string;
  /** sha256 of the default.yaml text it was made from: a stale file is not used. */
  sha256: string;
  config: Record<string, unknown>;
}

export function precompileDefaults(yamlText: string): PrecompiledDefaults {
  return {
    '//': 'config/default.yaml parsed (npm run config:json), read instead of it at start-up while its sha256 matches; do not edit',
    sha256: sha256(yamlText),
    config: readYaml('config/default.yaml', 'default config', yamlText),
  };
}

/**
 * The defaults: default.yaml as parsed ahead of time when that copy is of the same text (JSON
 * parses in microseconds; the YAML parser takes a tenth of a second to load), else the YAML.
 */
function readDefaults(): Record<string, unknown> {
  const dir = join(packageRoot(), 'config');
  const path = join(dir, 'default.yaml');
  const text = readText(path, 'default config');
  try {
    const pre = JSON.parse(readFileSync(join(dir, DEFAULTS_JSON), 'utf8')) as PrecompiledDefaults;
    if (pre.sha256 === sha256(text) && isObject(pre.config)) return pre.config;
  } catch {
    // no precompiled copy (or an unreadable one): the YAML is the source
  }
  return readYaml(path, 'default config', text);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function envBool(name: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  throw new ToolError('config_invalid', `${name}="${value}" is not a boolean (use 1/0, true/false)`);
}

/** Every problem in one message, each naming its key, so a bad config is fixed in one pass. */
export function formatIssues(source: string, issues: z.core.$ZodIssue[]): string {
  const lines = issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  return `invalid configuration (${source}):\n${lines.join('\n')}`;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** --project from the command line: wins over COMPOSE_PROJECT_NAME and the file. */
  project?: string;
}

/** Loads defaults, the DOOM_OPS_CONFIG file, then environment overrides; validates once. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const defaults = readDefaults();
  const file = env.DOOM_OPS_CONFIG ? readYaml(env.DOOM_OPS_CONFIG, 'config file') : {};
  const raw: Record<string, unknown> = { ...defaults, ...file };
  for (const key of [
    'docker',
    'logs',
    'http',
    'approvals',
    'roles',
    'scaling',
    'compose',
    'backup',
    'watch',
    'schedule',
  ] as const) {
    if (isObject(defaults[key]) && isObject(file[key])) raw[key] = { ...defaults[key], ...file[key] };
  }

  if (env.COMPOSE_PROJECT_NAME) raw.project = env.COMPOSE_PROJECT_NAME;
  if (options.project) raw.project = options.project;
  if (env.DOOM_OPS_DOCKER_TIMEOUT)
    raw.docker = { ...(raw.docker as object), timeout: env.DOOM_OPS_DOCKER_TIMEOUT };
  if (env.DOOM_OPS_HTTP_HOST || env.DOOM_OPS_HTTP_PORT) {
    const http: Record<string, unknown> = { ...(raw.http as object) };
    if (env.DOOM_OPS_HTTP_HOST) http.host = env.DOOM_OPS_HTTP_HOST;
    if (env.DOOM_OPS_HTTP_PORT)
      http.port = /^\d+$/.test(env.DOOM_OPS_HTTP_PORT)
        ? Number(env.DOOM_OPS_HTTP_PORT)
        : env.DOOM_OPS_HTTP_PORT;
    raw.http = http;
  }
  if (env.DOOM_OPS_STATE_DIR) raw.stateDir = env.DOOM_OPS_STATE_DIR;
  if (env.OLLAMA_HOST || env.OLLAMA_MODEL) {
    const o: Record<string, unknown> = { ...(raw.ollama as object) };
    // Ollama's own CLI accepts a bare host:port in OLLAMA_HOST.
    if (env.OLLAMA_HOST)
      o.host = /^https?:\/\//.test(env.OLLAMA_HOST) ? env.OLLAMA_HOST : `http://${env.OLLAMA_HOST}`;
    if (env.OLLAMA_MODEL) o.model = env.OLLAMA_MODEL;
    raw.ollama = o;
  }
  if (env.DOOM_OPS_BACKUP_DIR) raw.backup = { ...(raw.backup as object), dir: env.DOOM_OPS_BACKUP_DIR };
  if (env.DOOM_OPS_MONGODB_URI) raw.mongodb = { ...(raw.mongodb as object), uri: env.DOOM_OPS_MONGODB_URI };
  if (env.DOOM_OPS_MCP_TOOLSETS)
    raw.mcp = {
      ...(raw.mcp as object),
      toolsets: env.DOOM_OPS_MCP_TOOLSETS.split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    };
  if (env.DOOM_OPS_READ_ONLY !== undefined)
    raw.readOnly = envBool('DOOM_OPS_READ_ONLY', env.DOOM_OPS_READ_ONLY);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const source = env.DOOM_OPS_CONFIG
      ? `defaults + ${env.DOOM_OPS_CONFIG} + environment`
      : 'defaults + environment';
    throw new ToolError('config_invalid', formatIssues(source, parsed.error.issues), {
      hint: 'fix the keys listed above; see the configuration reference in the README',
    });
  }
  return withOllamaCheck(parsed.data);
}

/**
 * With a model configured, the stack's own ollama service (if it is expected and has no deep check
 * of its own) is checked by stack_health: /api/tags answers and lists that model.
 */
function withOllamaCheck(config: Config): Config {
  const svc = config.services.ollama;
  const { host, model } = config.ollama;
  if (!svc || svc.deepCheck || !host || !model) return config;
  return {
    ...config,
    services: {
      ...config.services,
      ollama: { ...svc, deepCheck: { ollama: { url: host, model }, timeout: 5000 } },
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
