import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string; tool_name?: string }>;
  tools?: Array<{ function: { name: string } }>;
}

/** One scripted reply: a tool call, a final answer, raw bytes (garbage), or no answer at all. */
export type Step =
  | { call: string; args: Record<string, unknown> }
  | { answer: string }
  | { raw: string }
  | { stall: true };

/**
 * Ollama's HTTP surface as doom-ops uses it, on 127.0.0.1: POST /api/chat (non-streaming, with
 * `tools` and `message.tool_calls`) answered from a per-test script, and GET /api/tags. Every
 * request body is kept, so tests can check what the model was sent.
 */
export class OllamaStandIn {
  readonly requests: ChatRequest[] = [];
  readonly rawBodies: string[] = [];
  script: Step[] = [];
  models = ['llama3.1:8b'];
  private server: Server | undefined;
  private held: ServerResponse[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/api/tags') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ models: this.models.map((name) => ({ name, model: name })) }));
      }
      if (req.url !== '/api/chat') {
        res.statusCode = 404;
        return res.end('{"error":"not found"}');
      }
      this.rawBodies.push(raw);
      const body = JSON.parse(raw) as ChatRequest;
      this.requests.push(body);
      const step = this.script.shift() ?? { answer: 'no more script' };
      if ('stall' in step) {
        this.held.push(res);
        return;
      }
      res.setHeader('content-type', 'application/json');
      if ('raw' in step) return res.end(step.raw);
      const message =
        'call' in step
          ? {
              role: 'assistant',
              content: '',
              tool_calls: [{ function: { name: step.call, arguments: step.args } }],
            }
          : { role: 'assistant', content: step.answer };
      res.end(
        JSON.stringify({
          model: body.model,
          created_at: new Date().toISOString(),
          message,
          done: true,
          done_reason: 'stop',
        }),
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  offeredTools(): string[][] {
    return this.requests.map((r) => (r.tools ?? []).map((t) => t.function.name));
  }

  async stop(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
