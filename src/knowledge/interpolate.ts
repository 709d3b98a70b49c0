/**
 * Compose-file variable interpolation, as `docker stack deploy` applies it: from the shell
 * environment only (stack deploy reads no .env file). Forms: `$VAR`, `${VAR}`, `${VAR:-default}`
 * (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (an error),
 * `${VAR:+alt}` / `${VAR+alt}`; `$$` is a literal `$`. An unset variable without a default becomes
 * the empty string, as the docker CLI does (with a warning): its name is in `missing`. Pure.
 */
export function interpolate(
  text: string,
  env: Record<string, string | undefined>,
): { value: string; missing: string[]; errors: string[] } {
  const missing: string[] = [];
  const errors: string[] = [];
  const value = text.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (
      _m,
      dollar: string | undefined,
      braced: string | undefined,
      op: string | undefined,
      arg = '',
      bare: string | undefined,
    ) => {
      if (dollar) return '$';
      const name = (braced ?? bare)!;
      const v = env[name];
      const unsetOrEmpty = v === undefined || v === '';
      switch (op) {
        case ':-':
          return unsetOrEmpty ? arg : v;
        case '-':
          return v === undefined ? arg : v;
        case ':?':
        case '?':
          if (op === ':?' ? unsetOrEmpty : v === undefined) {
            errors.push(`${name}: ${arg || 'required variable is missing a value'}`);
            return '';
          }
          return v!;
        case ':+':
          return unsetOrEmpty ? '' : arg;
        case '+':
          return v === undefined ? '' : arg;
        default:
          if (v === undefined) missing.push(name);
          return v ?? '';
      }
    },
  );
  return { value, missing: [...new Set(missing)], errors };
}
