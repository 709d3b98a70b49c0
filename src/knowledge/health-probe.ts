/**
 * What a failing health probe's own output says about it. A probe whose command is missing from
 * the image (exit 127, "not found", the runtime's "executable file not found") cannot run at all:
 * the probe is broken, not necessarily the app. A probe refused a connection: nothing listens yet
 * (a slow start without start_period) or the app stopped listening.
 */
export type ProbeFailure = 'broken' | 'refused' | 'failing';

/** The probe's own program could not be run (not: a file the probe reads is missing). */
const BROKEN =
  /executable file not found|OCI runtime exec failed|exec: "[^"]+": (no such file|permission denied)|exec format error|(^|[\s:])[\w./-]+: (not found|command not found)\s*$/im;
const REFUSED =
  /connection refused|can't connect to remote host|econnrefused|couldn't connect to server|failed to connect/i;

export function probeFailure(
  probe: { exitCode: number; output: string },
  /** Earlier probes of the same check: one that passed proves the probe can run. */
  history: ReadonlyArray<{ exitCode: number }> = [],
): ProbeFailure | null {
  if (probe.exitCode === 0) return null;
  if (history.some((p) => p.exitCode === 0)) return REFUSED.test(probe.output) ? 'refused' : 'failing';
  if (probe.exitCode === 127 || probe.exitCode === 126 || BROKEN.test(probe.output)) return 'broken';
  if (REFUSED.test(probe.output)) return 'refused';
  return 'failing';
}

/** The program a broken probe tried to run ("curl" from "/bin/sh: curl: not found"). */
export function probeProgram(test: string[], output: string): string | null {
  const fromOutput =
    /exec: "([^"]+)"/.exec(output)?.[1] ??
    /(?:^|\s|:)([\w./-]+): (?:not found|command not found)/.exec(output)?.[1];
  if (fromOutput) return fromOutput;
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest[0] ?? null;
  if (kind === 'CMD-SHELL') return rest[0]?.trim().split(/\s+/)[0] ?? null;
  return null;
}
