/**
 * Secret redaction for anything that leaves the process: log lines, health-check output, audit
 * entries. Three layers: literal values known to be secret (a container's secret env values),
 * credentials in URIs, and `key=value` / `"key": "value"` pairs whose key names a secret, plus
 * well-known token shapes.
 */
export const MASK = '***';

const KEY = `(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|auth|authorization|credentials?|session[_-]?id|cookie)`;

const PATTERNS: Array<[RegExp, string]> = [
  // Authorization: Bearer xyz / Basic xyz (before key=value, which would mask only the scheme word)
  [/(\b(?:bearer|basic)\s+)[a-z0-9._~+/=-]{8,}/gi, `$1${MASK}`],
  // scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)([^\s@"'/]+)(@)/gi, `$1${MASK}$3`],
  // "password": "value"  /  'token': 'value'
  [new RegExp(String.raw`(["']?[\w.-]*${KEY}[\w.-]*["']?\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi'), `$1"${MASK}"`],
  // password=value  token: value  (unquoted)
  [
    new RegExp(
      String.raw`(\b[\w.-]*${KEY}[\w.-]*\s*[=:]\s*)(?!["'{\[]|\*\*\*|(?:bearer|basic)\s)([^\s,;&"'}]+)`,
      'gi',
    ),
    `$1${MASK}`,
  ],
  // Slack, GitHub, AWS, OpenAI-style tokens on their own
  [/\bxox[abposr]-[a-z0-9-]{10,}/gi, MASK],
  [/\bgh[pousr]_[a-z0-9]{20,}/gi, MASK],
  [/\bgithub_pat_[a-z0-9_]{20,}/gi, MASK],
  [/\bAKIA[0-9A-Z]{16}\b/g, MASK],
  [/\bsk-[a-z0-9_-]{20,}/gi, MASK],
];

export interface Redactor {
  (text: string): string;
  /** How many replacements were made so far (reported so users know something was hidden). */
  readonly count: number;
}

export function createRedactor(secretValues: readonly string[] = []): Redactor {
  // Longest first so a secret that contains another is masked whole.
  const literals = [...new Set(secretValues.filter((v) => v.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  let count = 0;
  const redact = ((text: string): string => {
    let out = text;
    for (const literal of literals) {
      if (!out.includes(literal)) continue;
      const parts = out.split(literal);
      count += parts.length - 1;
      out = parts.join(MASK);
    }
    for (const [pattern, replacement] of PATTERNS) {
      out = out.replace(pattern, (...args) => {
        count++;
        return (replacement as string).replace(/\$(\d)/g, (_, n: string) => String(args[Number(n)] ?? ''));
      });
    }
    return out;
  }) as Redactor;
  Object.defineProperty(redact, 'count', { get: () => count });
  return redact;
}

/** One-off redaction when no counting is needed. */
export function redact(text: string, secretValues: readonly string[] = []): string {
  return createRedactor(secretValues)(text);
}

const SECRET_KEY = new RegExp(`^[\\w.-]*${KEY}[\\w.-]*$`, 'i');

/**
 * Redacts a structured value before it is serialised: every string is redacted as text, and the
 * value of any key that names a secret is masked whole. Serialising first and redacting the JSON
 * text can cut through escapes (a value with a quote or backslash) and break the document.
 */
export function redactValue<T>(value: T, secretValues: readonly string[] = []): T {
  const r = createRedactor(secretValues);
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return key !== undefined && SECRET_KEY.test(key) && v ? MASK : r(v);
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x, k)]),
      );
    return v;
  };
  return walk(value) as T;
}
