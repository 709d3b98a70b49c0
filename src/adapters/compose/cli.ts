import { ToolError } from '../../errors.js';

export interface ComposeCommand {
  file: string;
  /** Arguments that come before the compose subcommand (["compose"] for the v2 plugin). */
  prefix: string[];
  version: string;
}

let detected: Promise<ComposeCommand> | undefined;

/** `docker compose` (v2) when the plugin is there, else the `docker-compose` v1 tool. */
export function detectCompose(): Promise<ComposeCommand> {
  detected ??= (async () => {
    for (const candidate of [
      { file: 'docker', prefix: ['compose'] },
      { file: 'docker-compose', prefix: [] },
    ]) {
      const { execa } = await import('execa');
      const r = await execa(candidate.file, [...candidate.prefix, 'version', '--short'], {
        reject: false,
        timeout: 15_000,
      });
      if (r.exitCode === 0 && r.stdout.trim()) return { ...candidate, version: r.stdout.trim() };
    }
    throw new ToolError(
      'upstream_unavailable',
      'neither `docker compose` nor `docker-compose` is installed',
      {
        hint: "install the Compose plugin or Debian's docker-compose package (npm run engine does this on Debian as root)",
      },
    );
  })();
  return detected;
}

/** Runs a Compose subcommand for one project (argument array; nothing goes through a shell). */
export async function compose(
  project: string,
  files: string[],
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<string> {
  const c = await detectCompose();
  const argv = [...c.prefix, '-p', project, ...files.flatMap((f) => ['-f', f]), ...args];
  // Loaded on first use: most commands never run Compose (start-up time).
  const { execa } = await import('execa');
  const r = await execa(c.file, argv, {
    reject: false,
    timeout: options.timeoutMs ?? 300_000,
    env: options.env,
    all: true,
  });
  if (r.exitCode !== 0) {
    throw new ToolError(
      'upstream_unavailable',
      `${c.file} ${argv.join(' ')} failed (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-5).join(' | ')}`,
      {
        hint: 'run the same compose command by hand to see the full output',
      },
    );
  }
  return r.all ?? '';
}
