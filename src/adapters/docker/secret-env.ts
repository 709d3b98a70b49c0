/** Env names whose values are secrets (MONGO_INITDB_ROOT_PASSWORD, SLACK_BOT_TOKEN, AWS_SECRET_ACCESS_KEY…). */
const SECRET_NAME =
  /(PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH|_PWD$|^PWD_)/i;

/** Secret values from a container's `KEY=value` env list; short values are skipped (they would redact noise). */
export function secretEnvValues(env: readonly string[] | null | undefined): string[] {
  const values: string[] = [];
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (SECRET_NAME.test(name) && value.length >= 4) values.push(value);
  }
  return values;
}
