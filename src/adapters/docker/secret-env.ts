/**
 * Env names whose values are secrets: MONGO_INITDB_ROOT_PASSWORD, SLACK_BOT_TOKEN,
 * AWS_SECRET_ACCESS_KEY, JWT_SIGNING_KEY, STRIPE_KEY, TLS_PRIVATE_KEY_PEM, GOOGLE_CREDENTIALS,
 * SENTRY_DSN…
 */
const SECRET_NAME =
  /(PASS(WORD|WD|PHRASE)?|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|SIGNING_?KEY|PRIVATE|CREDENTIAL|AUTH|(^|_)KEYS?$|DSN$|_PWD$|^PWD_)/i;

/**
 * Names that say what the value is, and it is not a secret, even when the name also contains a
 * secret word: AUTH_HOST, TOKEN_TTL, PRIVATE_KEY_PATH, AUTH_ENABLED. A URL or URI among them still
 * gives up the password it carries (see uriPasswords).
 */
const NOT_SECRET_NAME =
  /_(PORT|HOST|HOSTNAME|ADDR|ADDRESS|URL|URI|ENDPOINT|FILE|PATH|DIR|TIMEOUT|TTL|EXPIRY|ENABLED|DISABLED|MODE|TYPE|ALGORITHM|VERSION)$/i;

/** Values that are flags, not secrets: masking them would hide every `true` in every log. */
const TRIVIAL = /^(true|false|yes|no|on|off|none|null|nil|undefined|enabled|disabled)$/i;

/** A PEM private key (RSA, EC, OpenSSH, PKCS#8, encrypted, PGP) is a secret whatever its variable is called. */
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;

/** scheme://user:password@host: the password, as written and percent-decoded. */
function uriPasswords(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']*:([^\s@"'/]+)@/gi)) {
    const raw = m[1]!;
    out.push(raw);
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      // not valid percent-encoding: the raw form is what appears
    }
  }
  return out;
}

/**
 * Secret values from a container's `NAME=value` env list: values of secret-named variables (see
 * SECRET_NAME, minus NOT_SECRET_NAME), PEM private keys under any name, and passwords inside URIs
 * (DATABASE_URL=postgres://app:pw@db). Values shorter than 4 characters and flag words (true, off…)
 * are skipped: masking them would redact noise. Returns distinct values, in env order.
 */
export function secretEnvValues(env: readonly string[] | null | undefined): string[] {
  const values = new Set<string>();
  const add = (v: string) => {
    if (v.trim().length >= 4 && !TRIVIAL.test(v.trim())) values.add(v);
  };
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if ((SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name)) || PEM_PRIVATE_KEY.test(value)) add(value);
    for (const pw of uriPasswords(value)) add(pw);
  }
  return [...values];
}
