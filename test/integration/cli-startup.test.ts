import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

// Issue 21: a CLI command loads only what it runs. Each command module loads on its own (no import
// cycle, nothing it relies on being loaded first), and a run of `health` or `--version` loads none
// of the packages only other commands need. Not timed: the speed is bench/cli.ts's.
const COMMANDS = resolve('dist/src/cli/commands');
const HOOK = resolve('test/helpers/record-loads.mjs');
/** Packages `health` and `--version` must not load (serve, mcp, backups, demo and ssh:// engines use them). */
const NOT_LOADED =
  /[/\\]node_modules[/\\](@slack[/\\]bolt|@modelcontextprotocol[/\\][^/\\]+|execa|croner|tar-stream|ssh2|@grpc[/\\][^/\\]+)[/\\]/;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'doom-ops-startup-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs the CLI with the load recorder; returns the result and the packages of NOT_LOADED it loaded. */
async function loadsOf(args: string[]): Promise<{ exitCode: number; stdout: string; unwanted: string[] }> {
  const file = join(work, `loads-${args.join('-').replace(/[^a-z0-9-]/gi, '')}.txt`);
  const r = await execa('node', ['--import', HOOK, CLI, ...args], {
    reject: false,
    env: { ...process.env, DOOM_OPS_TEST_LOADS: file, DOOM_OPS_STATE_DIR: join(work, 'state') },
  });
  const loaded = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  expect(
    loaded.some((l) => l.includes('commander')),
    'the recorder saw the CLI load',
  ).toBe(true);
  const unwanted = [...new Set(loaded.flatMap((l) => l.match(NOT_LOADED)?.[1] ?? []))].sort();
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, unwanted };
}

describe('each CLI command module', async () => {
  const modules = (await readdir(COMMANDS)).filter((f) => f.endsWith('.js')).sort();

  it('is there (the build ran)', () => {
    expect(modules).toContain('health.js');
  });

  it.each(modules)('%s loads on its own in a fresh process and defines its commands', async (name) => {
    // Each exported *Command(s) function registers its commands on a fresh program.
    const script = `
      import { Command } from 'commander';
      const m = await import(${JSON.stringify(pathToFileURL(join(COMMANDS, name)).href)});
      const program = new Command('doom-ops');
      const fns = Object.entries(m).filter(([k, v]) => /Commands?$/.test(k) && typeof v === 'function');
      for (const [, define] of fns) define(program);
      console.log(JSON.stringify({
        exports: Object.keys(m),
        definers: fns.map(([k]) => k),
        commands: program.commands.map((c) => c.name()),
      }));`;
    const r = await execa('node', ['--input-type=module', '-e', script], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { exports: string[]; definers: string[]; commands: string[] };
    expect(out.exports.length).toBeGreaterThan(0);
    // common.js (shared helpers) and demo-run.js (the demo's work, loaded by its action) define none.
    if (name !== 'common.js' && name !== 'demo-run.js') {
      expect(out.definers.length).toBeGreaterThan(0);
      expect(out.commands.length).toBeGreaterThanOrEqual(out.definers.length);
    }
  });
});

describe('what a run loads', () => {
  it('--version prints the version and loads none of them', async () => {
    const r = await loadsOf(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.unwanted).toEqual([]);
  });

  it('--help lists every command and loads none of them', async () => {
    const r = await loadsOf(['--help']);
    expect(r.exitCode).toBe(0);
    for (const command of [
      'health',
      'stats',
      'logs',
      'why',
      'ask',
      'backup',
      'restore',
      'approve',
      'mcp',
      'serve',
      'demo',
    ])
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(r.unwanted).toEqual([]);
  });

  it('health --json (a whole run against the engine) loads none of them', async () => {
    // A project nobody has: the run lists it, finds every expected service missing, and answers.
    const r = await loadsOf(['health', '--json', '--project', `dostartup${Date.now().toString(36)}`]);
    expect(r.exitCode, r.stdout).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'down' });
    expect(r.unwanted).toEqual([]);
  });
});
