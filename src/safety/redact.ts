/**
 * Secret redaction for anything that leaves the process: log lines, health-check output, exec
 * output, audit entries, Slack messages. Layers, all applied to the same text:
 * - literal values known to be secret (the project's secret env values), also each line of a
 *   multi-line value (a PEM key arrives in logs one line at a time) and their JSON- and
 *   URL-encoded forms;
 * - credentials in URIs, `key=value` / `"key": "value"` pairs whose key names a secret, bearer
 *   tokens, PEM private key blocks, JWTs and well-known token shapes;
 * - the same again inside percent-encoded text (`?next=%2Fcb%3Ftoken%3Dabc`,
 *   `encodeURIComponent(secret)`), masked in place so the rest keeps its encoding.
 * Every layer finds ranges of the original text; overlapping ranges are merged and each becomes one
 * MASK, so a secret matched by several layers is masked once.
 */
export const MASK = '***';

const KEY = `(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|auth|authorization|credentials?|session[_-]?id|cookie)`;

/**
 * A pattern and which capture group holds the secret (0: the whole match). Every regex has the `g`
 * and `d` flags; `hint` is a cheap test without which the pattern cannot match (most lines fail it,
 * which keeps redaction of large log windows fast).
 */
interface Rule {
  re: RegExp;
  group: number;
  hint: RegExp;
}

const PEM_LABEL = '(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?';
const KEY_HINT = new RegExp(KEY, 'i');

const RULES: Rule[] = [
  // A PEM private key block, BEGIN through END (or to the end of the text when the END line is elsewhere)
  {
    re: new RegExp(String.raw`-----BEGIN ${PEM_LABEL}-----[\s\S]*?(?:-----END ${PEM_LABEL}-----|$)`, 'gd'),
    group: 0,
    hint: /-----BEGIN /,
  },
  // …and its END line arriving on its own
  { re: new RegExp(`-----END ${PEM_LABEL}-----`, 'gd'), group: 0, hint: /-----END / },
  // A JWT: three base64url segments, the first a JSON header (`{"` is `eyJ`); the signature may be empty
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/dg, group: 0, hint: /eyJ/ },
  // Authorization: Bearer xyz / Basic xyz
  { re: /(\b(?:bearer|basic)\s+)([a-z0-9._~+/=-]{8,})/dgi, group: 2, hint: /bearer|basic/i },
  // scheme://user:password@host
  { re: /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)([^\s@"'/]+)(@)/dgi, group: 2, hint: /:\/\/[^\s@]*@/ },
  // "password": "value"  /  'token': 'value'
  {
    re: new RegExp(String.raw`(["']?[\w.-]*${KEY}[\w.-]*["']?\s*:\s*)"((?:[^"\\]|\\.)*)"`, 'dgi'),
    group: 2,
    hint: KEY_HINT,
  },
  // password=value  token: value  (unquoted; not the scheme word of a bearer token, not a mask)
  {
    re: new RegExp(
      String.raw`(\b[\w.-]*${KEY}[\w.-]*\s*[=:]\s*)(?!["'{\[]|\*\*\*|(?:bearer|basic)\s)([^\s,;&"'}]+)`,
      'dgi',
    ),
    group: 2,
    hint: KEY_HINT,
  },
  // Slack, GitHub, AWS, OpenAI-style tokens on their own
  { re: /\bxox[abposr]-[a-z0-9-]{10,}/dgi, group: 0, hint: /xox/i },
  { re: /\bgh[pousr]_[a-z0-9]{20,}/dgi, group: 0, hint: /gh[pousr]_/i },
  { re: /\bgithub_pat_[a-z0-9_]{20,}/dgi, group: 0, hint: /github_pat_/i },
  { re: /\bAKIA[0-9A-Z]{16}\b/dg, group: 0, hint: /AKIA/ },
  { re: /\bsk-[a-z0-9_-]{20,}/dgi, group: 0, hint: /sk-/i },
];

/** Percent-encoded text is decoded this many levels deep (a URL inside a URL inside a URL). */
const MAX_DECODE_DEPTH = 2;

type Range = [start: number, end: number];

/**
 * The forms in which a secret value can appear in output: as is; each line of a multi-line value
 * (real newlines, or `\n` written out as in `.env` files); JSON-escaped (as JSON.stringify writes
 * it, with `/` escaped as `\/` as PHP and some Java encoders do, and with non-ASCII as `\uXXXX` as
 * Python's json.dumps does, lower- or upper-case hex); URL-encoded (component, whole-URI and form
 * encoding). Forms shorter than 4 characters are left out.
 */
function secretForms(value: string): string[] {
  const forms = [value];
  if (/[\r\n]|\\n/.test(value)) forms.push(...value.split(/\r\n|\r|\n|\\r\\n|\\n/).map((l) => l.trim()));
  const json = JSON.stringify(value).slice(1, -1);
  // Each UTF-16 unit of a non-ASCII character as \uXXXX (astral characters become surrogate pairs).
  const ascii = json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const jsonForms = new Set([
    json,
    ascii,
    ascii.replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\u${h.toUpperCase()}`),
  ]);
  for (const f of [...jsonForms]) if (f.includes('/')) jsonForms.add(f.replace(/\//g, '\\/'));
  forms.push(...jsonForms);
  try {
    forms.push(encodeURIComponent(value), encodeURI(value));
    if (value.includes(' '))
      forms.push(encodeURIComponent(value).replace(/%20/g, '+'), value.replace(/ /g, '+'));
  } catch {
    // a lone surrogate cannot be URL-encoded, so it cannot appear that way either
  }
  return forms.filter((f) => f.length >= 4);
}

/** Ranges of `text` that hold a secret: literals, rules, and (down to MAX_DECODE_DEPTH) percent-encoded text. */
function secretRanges(text: string, literals: readonly string[], patterns: boolean, depth: number): Range[] {
  const ranges: Range[] = [];
  for (const literal of literals) {
    for (let at = text.indexOf(literal); at !== -1; at = text.indexOf(literal, at + literal.length))
      ranges.push([at, at + literal.length]);
  }
  if (patterns) {
    for (const { re, group, hint } of RULES) {
      if (!hint.test(text)) continue;
      for (const m of text.matchAll(re)) {
        const span = m.indices?.[group];
        if (span && span[1] > span[0]) ranges.push([span[0], span[1]]);
      }
    }
  }
  if (depth < MAX_DECODE_DEPTH && text.includes('%'))
    ranges.push(...percentEncodedRanges(text, literals, patterns, depth));
  return ranges;
}

/** Characters that end a percent-encoded token (URLs and form bodies never hold them raw). */
const TOKEN_END = /[\s"<>`]/;

/**
 * Secrets inside percent-encoded tokens: each token is decoded, its secret ranges are found in the
 * decoded text and mapped back onto the encoded characters they came from.
 */
function percentEncodedRanges(
  text: string,
  literals: readonly string[],
  patterns: boolean,
  depth: number,
): Range[] {
  const out: Range[] = [];
  // Local: the decoded text is searched recursively, so no regex state may be shared.
  const percent = /%[0-9A-Fa-f]{2}/g;
  for (let m = percent.exec(text); m; m = percent.exec(text)) {
    let start = m.index;
    while (start > 0 && !TOKEN_END.test(text[start - 1]!)) start--;
    let end = m.index;
    while (end < text.length && !TOKEN_END.test(text[end]!)) end++;
    percent.lastIndex = end;
    const decoded = percentDecode(text.slice(start, end));
    if (!decoded) continue;
    for (const [a, b] of secretRanges(decoded.text, literals, patterns, depth + 1))
      out.push([start + decoded.from[a]!, start + decoded.to[b - 1]!]);
  }
  return out;
}

/**
 * Decodes %XX escapes (UTF-8; bytes that are not valid UTF-8 become one character each) and
 * records, for every decoded UTF-16 unit, the span of encoded characters it came from.
 * Undefined when nothing was decoded.
 */
function percentDecode(token: string): { text: string; from: number[]; to: number[] } | undefined {
  let text = '';
  const from: number[] = [];
  const to: number[] = [];
  let changed = false;
  let i = 0;
  while (i < token.length) {
    if (token[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(token.slice(i + 1, i + 3))) {
      // A run of escapes decodes together: one character may take several bytes.
      const bytes: number[] = [];
      const runStart = i;
      while (token[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(token.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
        i += 3;
      }
      changed = true;
      const utf8 = Buffer.from(bytes);
      const chars = utf8.toString('utf8');
      if (Buffer.byteLength(chars, 'utf8') === utf8.length && !chars.includes('\uFFFD')) {
        let at = runStart;
        for (const ch of chars) {
          const span = Buffer.byteLength(ch, 'utf8') * 3;
          for (let u = 0; u < ch.length; u++) {
            from.push(at);
            to.push(at + span);
          }
          text += ch;
          at += span;
        }
      } else {
        bytes.forEach((b, k) => {
          text += String.fromCharCode(b);
          from.push(runStart + k * 3);
          to.push(runStart + k * 3 + 3);
        });
      }
      continue;
    }
    text += token[i];
    from.push(i);
    to.push(i + 1);
    i++;
  }
  return changed ? { text, from, to } : undefined;
}

/** Sorted, with overlapping and touching ranges merged. */
function merge(ranges: Range[]): Range[] {
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Range[] = [];
  for (const r of ranges) {
    const last = out.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

export interface Redactor {
  (text: string): string;
  /** How many replacements were made so far (reported so users know something was hidden). */
  readonly count: number;
}

export interface RedactorOptions {
  /**
   * false: mask only the given secret values (in all their forms), not the patterns. For a second
   * pass over output that was already redacted with patterns, where a pattern would now change
   * ordinary text.
   */
  patterns?: boolean;
}

/**
 * A redactor masking `secretValues` (values shorter than 4 characters are ignored) and, unless
 * `options.patterns` is false, every secret shape listed at the top of this file. Each masked
 * range becomes MASK; `count` adds them up over all calls.
 */
export function createRedactor(
  secretValues: readonly string[] = [],
  options: RedactorOptions = {},
): Redactor {
  const patterns = options.patterns ?? true;
  const literals = [...new Set(secretValues.filter((v) => v.length >= 4).flatMap(secretForms))];
  let count = 0;
  const redact = ((text: string): string => {
    if (!text) return text;
    const ranges = merge(secretRanges(text, literals, patterns, 0));
    if (ranges.length === 0) return text;
    count += ranges.length;
    let out = '';
    let at = 0;
    for (const [start, end] of ranges) {
      out += text.slice(at, start) + MASK;
      at = end;
    }
    return out + text.slice(at);
  }) as Redactor;
  Object.defineProperty(redact, 'count', { get: () => count });
  return redact;
}

/** How many learnt secret values are kept (the newest); a stack has a few dozen. */
const MAX_REMEMBERED = 4096;
const remembered = new Set<string>();

/**
 * Secret values this process has learnt (a project's secret environment values, read from the
 * engine by tools), for writers that see no tool context: the audit log masks them in every entry.
 * Bounded: the newest MAX_REMEMBERED values are kept.
 */
export function rememberSecrets(values: readonly string[]): void {
  for (const v of values) {
    remembered.delete(v);
    remembered.add(v);
  }
  for (const oldest of remembered) {
    if (remembered.size <= MAX_REMEMBERED) break;
    remembered.delete(oldest);
  }
}

/** The secret values learnt so far (rememberSecrets), oldest first. */
export function rememberedSecrets(): string[] {
  return [...remembered];
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

/**
 * Masks the given secret values (all their forms, no patterns) in every string of a JSON-like
 * value: plain objects and arrays are copied, other values returned as they are. Returns `value`
 * itself when nothing was masked.
 */
export function maskSecretsIn<T>(value: T, secretValues: readonly string[]): T {
  if (secretValues.length === 0) return value;
  const r = createRedactor(secretValues, { patterns: false });
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return r(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v)))
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(value) as T;
  return r.count > 0 ? out : value;
}
