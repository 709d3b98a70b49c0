/**
 * Containers that never ran: Compose created them and the engine could not start them (the
 * runtime's error is in State.Error, the exit code says what kind: 127 command not found, 126 not
 * executable, 128 with port, mount, network or device errors), or they were created and never
 * started at all (Compose v2 leaves dependents in `created` when a depends_on condition fails).
 */
export type StartFailureKind =
  | 'command_not_found'
  | 'not_executable'
  | 'port_in_use'
  | 'mount'
  | 'network'
  | 'gpu'
  | 'runtime'
  | 'not_started';

export interface StartFailure {
  kind: StartFailureKind;
  /** The runtime's own words (State.Error), or null when the engine never tried. */
  error: string | null;
  exitCode: number | null;
  /** One sentence: what failed, in on-call words. */
  what: string;
  /** What to do about it. */
  fix: string;
  /** True when it ran before and only the latest start failed (restart policy, docker start). */
  ranBefore: boolean;
}

export interface StartState {
  restartCount: number;
  state: {
    status: string;
    running: boolean;
    exitCode: number;
    error: string;
    startedAt: string | null;
  };
}

/** The program the runtime tried to exec, from `exec: "missing-tool": …`. */
function execTarget(error: string): string | null {
  return /exec: "([^"]+)"/.exec(error)?.[1] ?? /exec ([^:\s]+): /.exec(error)?.[1] ?? null;
}

/**
 * Why a container is not running although it was never (or, this time, not) started; null for a
 * container that started (running, or exited after running with no start error).
 */
export function startFailure(c: StartState): StartFailure | null {
  const { state } = c;
  if (state.running) return null;
  const error = state.error.trim();
  const neverRan = state.startedAt === null;
  if (state.status !== 'created' && !error) return null;
  if (!error) {
    if (state.status !== 'created') return null;
    return {
      kind: 'not_started',
      error: null,
      exitCode: null,
      what: 'created but never started',
      fix: 'start it (docker compose up -d); if Compose left it behind a depends_on condition, fix that dependency first',
      ranBefore: false,
    };
  }
  const code = state.exitCode || null;
  const base = { error, exitCode: code, ranBefore: !neverRan };
  const target = execTarget(error);
  if (
    /executable file not found|no such file or directory.*exec|exec: .*: no such file/i.test(error) ||
    code === 127
  )
    return {
      ...base,
      kind: 'command_not_found',
      what: `the command${target ? ` "${target}"` : ''} is not in the image (exit 127: ${error.includes('executable file not found') ? 'executable file not found in $PATH' : 'not found'})`,
      fix: `fix command/entrypoint in the Compose file (or the image's ENTRYPOINT/CMD), or install the program in the image; check with: docker run --rm --entrypoint sh <image> -c 'command -v ${target ?? '<program>'}'`,
    };
  if (/permission denied/i.test(error) && (code === 126 || /exec/i.test(error)))
    return {
      ...base,
      kind: 'not_executable',
      what: `the command${target ? ` "${target}"` : ''} exists but is not executable (exit 126: permission denied)`,
      fix: `make it executable in the image (RUN chmod +x ${target ?? '<file>'}), or run it through its interpreter (command: ["sh", "${target ?? '<file>'}"])`,
    };
  if (/port is already allocated|address already in use|bind for .* failed/i.test(error))
    return {
      ...base,
      kind: 'port_in_use',
      what: `a host port it publishes is taken: ${error.replace(/^.*?(Bind for|listen tcp|driver failed)/i, '$1')}`,
      fix: 'run the port-conflict runbook to see who holds the port, then free it or publish another one (ports: in the Compose file)',
    };
  if (
    /mount|not a directory|bind source path does not exist|invalid volume|no such file or directory/i.test(
      error,
    )
  )
    return {
      ...base,
      kind: 'mount',
      what: `a volume or bind mount could not be set up: ${error}`,
      fix: 'check the volumes: entries of the service (the host path must exist and be a file or a directory as the target is)',
    };
  if (/network .*not found|network sandbox|failed to set up container networking/i.test(error))
    return {
      ...base,
      kind: 'network',
      what: `its network could not be set up: ${error}`,
      fix: 'recreate it with docker compose up -d (Compose recreates missing networks); check networks: in the Compose file',
    };
  if (/could not select device driver|nvidia|gpu/i.test(error))
    return {
      ...base,
      kind: 'gpu',
      what: `the GPU it reserves is not available: ${error}`,
      fix: 'install the NVIDIA Container Toolkit and register its runtime with the engine (nvidia-ctk runtime configure), or run without the GPU overlay',
    };
  return {
    ...base,
    kind: 'runtime',
    what: `the engine could not start it: ${error}`,
    fix: 'read the error above; the engine log (journalctl -u docker) has the details',
  };
}
