import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
  /** When it arrived (ms since epoch). */
  at: number;
}

export interface ResponsePost {
  id: string;
  /** Parsed on first read (a burst of large answers is not parsed while it arrives). */
  readonly body: Record<string, unknown>;
  raw: string;
}

async function readRaw(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(req: IncomingMessage, raw: string): Record<string, unknown> {
  if ((req.headers['content-type'] ?? '').includes('json')) return raw ? JSON.parse(raw) : {};
  // The Web API client sends forms; structured fields (blocks) arrive JSON-encoded.
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    try {
      out[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/**
 * Slack's side for tests, on 127.0.0.1: the Web API methods the bot calls (under /api/) and
 * response_url endpoints (under /response/<id>). Everything received is recorded.
 */
export class SlackStandIn {
  readonly calls: ApiCall[] = [];
  readonly responses: ResponsePost[] = [];
  /** usergroups.users.list answers. */
  readonly groups = new Map<string, string[]>();
  private server: Server | undefined;
  private seq = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readRaw(req).then((raw) => {
        const path = (req.url ?? '').split('?')[0]!;
        res.setHeader('content-type', 'application/json');
        if (path.startsWith('/response/')) {
          let parsed: Record<string, unknown> | undefined;
          this.responses.push({
            id: path.slice('/response/'.length),
            raw,
            get body() {
              parsed ??= parseBody(req, raw);
              return parsed;
            },
          });
          return res.end('ok');
        }
        const body = parseBody(req, raw);
        const method = path.replace(/^\/api\//, '');
        this.calls.push({ method, body, at: Date.now() });
        res.end(JSON.stringify(this.answer(method, body)));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  private answer(method: string, body: Record<string, unknown>): Record<string, unknown> {
    if (method === 'chat.postMessage') {
      const ts = `${1_700_000_000 + ++this.seq}.000100`;
      return { ok: true, channel: body.channel, ts, message: { ts, text: body.text } };
    }
    if (method === 'chat.update') return { ok: true, channel: body.channel, ts: body.ts };
    if (method === 'usergroups.users.list')
      return { ok: true, users: this.groups.get(String(body.usergroup)) ?? [] };
    if (method === 'auth.test') return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' };
    return { ok: true };
  }

  posted(filter: (c: ApiCall) => boolean = () => true): ApiCall[] {
    return this.calls.filter((c) => c.method === 'chat.postMessage' && filter(c));
  }

  updates(ts: string): ApiCall[] {
    return this.calls.filter((c) => c.method === 'chat.update' && c.body.ts === ts);
  }

  responsesTo(id: string): Array<Record<string, unknown>> {
    return this.responses.filter((r) => r.id === id).map((r) => r.body);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A button click (block_actions) as Slack sends it to the bot's endpoint, signed with `secret`. */
export async function clickButton(
  endpoint: string,
  secret: string,
  click: {
    actionId: string;
    value: string;
    user: string;
    channel: string;
    messageTs: string;
    responseUrl: string;
  },
): Promise<number> {
  const payload = {
    type: 'block_actions',
    team: { id: 'T1' },
    user: { id: click.user, name: click.user.toLowerCase() },
    api_app_id: 'A1',
    token: 'legacy',
    container: { type: 'message', message_ts: click.messageTs, channel_id: click.channel },
    channel: { id: click.channel, name: 'ops' },
    message: { ts: click.messageTs, text: 'incident' },
    trigger_id: `t${Date.now()}`,
    response_url: click.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        block_id: `b:${click.value}`,
        value: click.value,
        text: { type: 'plain_text', text: click.actionId },
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return (await postSigned(endpoint, secret, body, Math.floor(Date.now() / 1000))).status;
}

/** POSTs a form body as Slack does, signed with `secret` at `ts` (unix seconds). */
function postSigned(endpoint: string, secret: string, body: string, ts: number): Promise<Response> {
  return fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
    },
    body,
  });
}

/** What `slashCommand` measured: the ack's HTTP status and body, and how long the ack took. */
export interface SlashAck {
  status: number;
  text: string;
  ms: number;
}

/**
 * POSTs a slash command to the bot's endpoint exactly as Slack does (form body, signed with
 * `secret` at `ts`, default now); returns the acknowledgement and its latency in ms.
 */
export async function slashCommand(
  endpoint: string,
  secret: string,
  command: { text: string; user: string; channel: string; responseUrl: string; name?: string },
  ts = Math.floor(Date.now() / 1000),
): Promise<SlashAck> {
  const body = new URLSearchParams({
    token: 'legacy',
    team_id: 'T1',
    channel_id: command.channel,
    channel_name: 'ops',
    user_id: command.user,
    user_name: command.user.toLowerCase(),
    command: command.name ?? '/doom',
    text: command.text,
    api_app_id: 'A1',
    response_url: command.responseUrl,
    trigger_id: `t${Date.now()}`,
  }).toString();
  const started = performance.now();
  const res = await postSigned(endpoint, secret, body, ts);
  return { status: res.status, text: await res.text(), ms: performance.now() - started };
}
