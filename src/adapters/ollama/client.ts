import type { Message, Tool } from 'ollama';

export type { Message as ChatMessage, Tool as ChatTool } from 'ollama';

/** One non-streaming chat turn: the model's reply message (it may carry tool_calls). */
export type ChatTurn = (messages: Message[], tools: Tool[]) => Promise<Message>;

/**
 * The Ollama chat API (POST /api/chat through the `ollama` package, loaded on first use) for one
 * model at `host`. Every request of the client is bound to `signal` (the caller's deadline and
 * cancellation); a failed request rejects with the package's error, unchanged.
 */
export async function ollamaChat(host: string, model: string, signal: AbortSignal): Promise<ChatTurn> {
  const { Ollama } = await import('ollama');
  const client = new Ollama({
    host,
    fetch: (input, init) =>
      fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
  });
  return async (messages, tools) => (await client.chat({ model, messages, tools, stream: false })).message;
}
