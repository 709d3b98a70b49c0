/** What a container's exit code means, in on-call words (design.md §8, handbook "OOM Kills"). */
export interface ExitMeaning {
  code: number;
  /** Signal name when the process was killed by a signal (code 128+n). */
  signal: string | null;
  meaning: string;
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

const FIXED: Record<number, string> = {
  0: 'exit 0: the process ended by itself and reported success',
  1: 'application error: the process exited with a general failure; its last log lines say why',
  2: "the application's own exit code 2 (most programs use it for bad usage or configuration): its last log lines say why",
  125: 'the container runtime failed to run the container (docker run / start error)',
  126: 'the command was found but is not executable (permission or format problem)',
  127: 'command not found: the entrypoint or command does not exist in the image',
  128: 'the container runtime could not start the process (see State.Error: a port, mount or network problem)',
};

export function explainExitCode(code: number, oomKilled = false): ExitMeaning {
  if (code === 137 && oomKilled) {
    return {
      code,
      signal: 'SIGKILL',
      meaning: 'SIGKILL from the kernel OOM killer: the container reached its memory limit (OOMKilled)',
    };
  }
  const fixed = FIXED[code];
  if (fixed) return { code, signal: null, meaning: fixed };
  if (code > 128 && code < 160) {
    const n = code - 128;
    const signal = SIGNALS[n] ?? `signal ${n}`;
    const meaning: Record<string, string> = {
      SIGKILL:
        'SIGKILL: killed without warning, typically by the OOM killer (check OOMKilled) or by `docker kill` / a stop that outlived its timeout',
      SIGTERM: 'SIGTERM: asked to stop (docker stop, compose down, or a restart) and exited on it',
      SIGSEGV: 'SIGSEGV: segmentation fault, the process crashed on invalid memory access',
      SIGABRT: 'SIGABRT: the process aborted itself (assertion failure or panic)',
      SIGINT: 'SIGINT: interrupted (Ctrl-C or an interrupt signal), or the program exited with 130 itself',
    };
    return {
      code,
      signal,
      meaning: meaning[signal] ?? `killed by ${signal} (or the program exited with ${code} itself)`,
    };
  }
  return {
    code,
    signal: null,
    meaning: `the application's own failure code ${code} (not a signal): its last log lines say why`,
  };
}
