/** A finding a runbook concludes with: what is wrong, how sure, and the evidence that shows it. */
export interface Finding {
  severity: 'critical' | 'warning' | 'info';
  title: string;
  explanation: string;
  evidence: string[];
}

/** Calls a tool of the registry by name (runbooks never reach the adapters directly). */
export type CallTool = (name: string, input: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** Extra inputs some runbooks take (the connectivity runbook's target). */
export interface RunbookOptions {
  target?: string;
  port?: number;
}

export interface StepResult {
  tool: string;
  findings: Finding[];
  actions: string[];
}

export interface Runbook {
  id: string;
  title: string;
  /** When to run it (the handbook symptom). */
  description: string;
  needsService: boolean;
  run(call: CallTool, service: string | undefined, options: RunbookOptions): Promise<StepResult[]>;
}
