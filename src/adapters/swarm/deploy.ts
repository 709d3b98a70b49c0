import { ToolError } from '../../errors.js';

/**
 * `docker stack deploy -c <file>… <stack>` through the docker CLI (argument array, no shell; the
 * environment passed on, so it speaks to the manager DOCKER_HOST names). Services the files no
 * longer define are left alone (no --prune). Returns the CLI's output. Errors: ToolError not_found
 * without a docker CLI, failed with the CLI's last lines otherwise.
 */
export async function stackDeploy(
  stack: string,
  files: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const args = ['stack', 'deploy', ...files.flatMap((f) => ['-c', f]), stack];
  // Loaded on first use: most commands never deploy (start-up time).
  const { execa } = await import('execa');
  const r = await execa('docker', args, {
    reject: false,
    all: true,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 300_000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  if (options.signal?.aborted) throw options.signal.reason;
  if (
    (r as { code?: string }).code === 'ENOENT' ||
    /ENOENT/.test(String((r as { originalMessage?: string }).originalMessage ?? ''))
  )
    throw new ToolError('not_found', 'docker stack deploy needs the docker CLI, and none is on PATH', {
      hint: "install Docker's CLI (Debian: docker.io or docker-cli) where doom-ops runs",
    });
  if (r.exitCode !== 0)
    throw new ToolError(
      'failed',
      `docker ${args.join(' ')} failed (exit ${r.exitCode ?? 'none'}): ${(r.all ?? '').trim().split('\n').slice(-5).join(' | ')}`,
      { hint: 'check the files with doom-ops lint --target swarm, and that DOCKER_HOST is a swarm manager' },
    );
  return (r.all ?? '').trim();
}
