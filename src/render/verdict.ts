/**
 * The verdict and summary of a tool's output, whichever shape it uses: stack_health has verdict
 * and summary strings, explain_restarts a verdict object with kind and summary.
 */
export function verdictOf(output: unknown): { verdict?: string; summary?: string } {
  const o = (output ?? {}) as Record<string, unknown>;
  const v = (typeof o.verdict === 'object' && o.verdict ? o.verdict : {}) as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' && x ? x : undefined);
  return { verdict: str(o.verdict) ?? str(v.kind), summary: str(o.summary) ?? str(v.summary) };
}
