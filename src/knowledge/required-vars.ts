import { parseEnv } from 'node:util';
import { interpolate } from './interpolate.js';

/** One file's contribution to a service's environment: its env_file paths (as written) and its `environment`. */
export interface EnvSource {
  envFiles: string[];
  /** The `environment` value as parsed (a list of `K=V` / `K`, or a map; undefined when absent). */
  environment: unknown;
}

/** The env_file paths a service entry names (a string, a list of strings, or of {path, required}). */
export function envFilePaths(value: unknown): Array<{ path: string; required: boolean }> {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.flatMap((x) => {
    if (typeof x === 'string') return [{ path: x, required: true }];
    if (x && typeof x === 'object' && typeof (x as { path?: unknown }).path === 'string')
      return [
        { path: (x as { path: string }).path, required: (x as { required?: unknown }).required !== false },
      ];
    return [];
  });
}

/**
 * The environment Compose gives a service's container, by name: each file's env_file entries in
 * order, then its `environment` over them (files base first, overlays after). `${VAR}` in
 * environment values is expanded from `vars` (.env, then the shell's over it, as Compose does); a
 * bare `KEY` (or `KEY:` with no value) takes the value from `vars` and is left out when unset there.
 * `readEnvFile` gives an env_file's text (null: it cannot be read; named in `unreadable`).
 * `origin`: for each name, the index in `sources` of the file that set it last.
 */
export function serviceEnvironment(
  sources: EnvSource[],
  vars: Record<string, string | undefined>,
  readEnvFile: (path: string) => string | null,
): { env: Record<string, string>; unreadable: string[]; origin: Record<string, number> } {
  const env: Record<string, string> = {};
  const origin: Record<string, number> = {};
  const unreadable: string[] = [];
  for (const [i, s] of sources.entries()) {
    for (const path of s.envFiles) {
      const text = readEnvFile(path);
      if (text === null) unreadable.push(path);
      else
        for (const [k, v] of Object.entries(parseEnv(text))) {
          env[k] = v ?? '';
          origin[k] = i;
        }
    }
    const set = (k: string, raw: string | null) => {
      origin[k] = i;
      if (raw === null) {
        const v = vars[k];
        if (v === undefined) delete env[k];
        else env[k] = v;
      } else env[k] = interpolate(raw, vars).value;
    };
    if (Array.isArray(s.environment))
      for (const item of s.environment) {
        const text = String(item);
        const eq = text.indexOf('=');
        if (eq < 0) set(text, null);
        else set(text.slice(0, eq), text.slice(eq + 1));
      }
    else if (s.environment && typeof s.environment === 'object')
      for (const [k, v] of Object.entries(s.environment as Record<string, unknown>))
        set(k, v === null || v === undefined ? null : String(v));
  }
  return { env, unreadable, origin };
}

/** Required variables a service's environment lacks or leaves empty. */
export function missingVariables(
  env: Record<string, string>,
  required: string[],
): Array<{ name: string; empty: boolean }> {
  return required.filter((n) => !env[n]).map((name) => ({ name, empty: env[name] === '' }));
}
