/**
 * Containers that never ran: Compose created them and the engine could not start them (the
 * runtime's error is in State.Error, the exit code says what kind: 127 command not found, 126 not
 * executable, 128 with port, mount, network or device errors), or they were created and never
 * started at all (Compose v2 leaves dependents in `created` when a depends_on condition fails).
 */
export const START_FAILURE_KINDS = [
  'command_not_found',
  'not_executable',
  'port_in_use',
  'mount',
  'network',
  'gpu',
  'logging',
  'runtime',
  'not_started',
] as const;
export type StartFailureKind = (typeof START_FAILURE_KINDS)[number];

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
export function startFailure(
  c: StartState,
  nameOf?: (id: string) => string | undefined,
): StartFailure | null {
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
  // The runtime's words decide before the exit code: a mount error can come with 127 too.
  if (/port is already allocated|address already in use|bind for .* failed/i.test(error))
    return {
      ...base,
      kind: 'port_in_use',
      what: `a host port it publishes is taken: ${error.replace(/^.*?(Bind for|listen tcp|driver failed)/i, '$1')}`,
      fix: 'run the port-conflict runbook to see who holds the port, then free it or publish another one (ports: in the Compose file)',
    };
  if (/failed to initialize logging driver|logging driver/i.test(error))
    return {
      ...base,
      kind: 'logging',
      what: `its logging driver could not start: ${error}`,
      fix: 'make the log collector reachable before the container starts, or set the driver to non-blocking (mode: non-blocking, or fluentd-async / syslog over udp), or use json-file/local',
    };
  if (/cannot join network of a non running container|joining network namespace of container/i.test(error)) {
    const id = /container:? ([0-9a-f]{12,64})/i.exec(error)?.[1];
    const other = id ? (nameOf?.(id) ?? id.slice(0, 12)) : 'the container it shares';
    return {
      ...base,
      kind: 'network',
      what: `it shares the network of ${other} (network_mode: service:/container:), which is not running`,
      fix: `start ${other} first (it must be running before this one starts), then start this one`,
    };
  }
  if (/\bmount|not a directory|bind source path|invalid volume/i.test(error))
    return {
      ...base,
      kind: 'mount',
      what: `a volume or bind mount could not be set up: ${error}`,
      fix: 'check the volumes: entries of the service (the host path must exist, and be a file where the target is a file and a directory where it is a directory)',
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
  if (
    /executable file not found|no such file or directory|exec: .*: no such file/i.test(error) ||
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
      what: `the command${target ? ` "${target}"` : ''} exists but cannot be executed (exit 126: permission denied): a file without the executable bit, or a directory`,
      fix: `point command/entrypoint at the program itself; if it is a script, make it executable in the image (RUN chmod +x ${target ?? '<file>'}) or run it through its interpreter (command: ["sh", "${target ?? '<file>'}"])`,
    };
  return {
    ...base,
    kind: 'runtime',
    what: `the engine could not start it: ${error}`,
    fix: 'read the error above; the engine log (journalctl -u docker) has the details',
  };
}
