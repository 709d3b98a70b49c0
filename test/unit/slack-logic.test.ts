import { describe, expect, it } from 'vitest';
import { matchServices, route } from '../../src/ask/router.js';
import { ToolError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { planMessage } from '../../src/slack/approvals.js';
import { codeBlocks, MAX_BLOCKS, toolMessage } from '../../src/slack/blocks.js';
import { errorMessage } from '../../src/slack/context.js';
import { helpText, parseCommand, SUBCOMMANDS, tokenize } from '../../src/slack/grammar.js';
import { incidentMessage } from '../../src/slack/incidents.js';
import { answerMessage } from '../../src/slack/questions.js';
import { scheduleReporter } from '../../src/slack/schedule-report.js';

const SERVICES = ['agent', 'dashboard', 'mongodb', 'nats', 'opensearch', 'orchestrator', 'vizdoom'];

describe('/doom grammar', () => {
  it('maps subcommands, positionals and flags onto tool input, coercing numbers only where the schema wants them', () => {
    expect(parseCommand('scale agent 4')).toEqual({
      kind: 'tool',
      sub: 'scale',
      tool: 'scale_service',
      input: { service: 'agent', replicas: 4 },
    });
    expect(
      parseCommand('logs orchestrator --tail 50 --since 10m --grep "connection refused" --level error'),
    ).toMatchObject({
      tool: 'service_logs',
      input: { service: 'orchestrator', tail: 50, since: '10m', grep: 'connection refused', level: 'error' },
    });
    expect(parseCommand('stats --no-cpu')).toMatchObject({ tool: 'service_stats', input: { cpu: false } });
    expect(parseCommand('prune --dry-run')).toMatchObject({ tool: 'prune_backups', input: { dryRun: true } });
    expect(parseCommand('restore volumes 20261128T000000Z-full')).toMatchObject({
      tool: 'restore',
      input: { component: 'volumes', id: '20261128T000000Z-full' },
    });
    expect(parseCommand('backup full')).toMatchObject({ tool: 'backup', input: { component: 'full' } });
    expect(parseCommand('ask why did orch restart?')).toEqual({
      kind: 'ask',
      question: 'why did orch restart?',
    });
    expect(parseCommand('approvals')).toEqual({ kind: 'approvals' });
  });

  it('errors carry the usage line of that subcommand; unknown ones and no text show help', () => {
    expect(parseCommand('scale agent')).toMatchObject({
      kind: 'error',
      usage: 'scale <service> <n> [--force]',
    });
    expect(parseCommand('logs')).toMatchObject({ kind: 'error', message: expect.stringMatching(/service/) });
    expect(parseCommand('backup everything')).toMatchObject({ kind: 'error', sub: 'backup' });
    expect(parseCommand('why a b')).toMatchObject({ kind: 'error', message: 'too many arguments: b' });
    expect(parseCommand('logs x --tail')).toMatchObject({ kind: 'error', message: '--tail needs a value' });
    expect(parseCommand('frobnicate')).toEqual({ kind: 'help', note: 'unknown command "frobnicate"' });
    expect(parseCommand('')).toEqual({ kind: 'help' });
    for (const s of Object.values(SUBCOMMANDS)) expect(helpText()).toContain(s.usage);
  });

  it('tokenizes quotes, including the curly ones Slack clients type', () => {
    expect(tokenize(`logs a --grep "x y" --grep 'p q' “r s”`)).toEqual([
      'logs',
      'a',
      '--grep',
      'x y',
      '--grep',
      'p q',
      'r s',
    ]);
  });
});

describe('Block Kit rendering', () => {
  it('stays within Slack limits and says when it cut', () => {
    const huge = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`).join('\n');
    const { blocks, droppedLines } = codeBlocks(huge);
    expect(blocks.length).toBe(MAX_BLOCKS);
    expect(droppedLines).toBeGreaterThan(0);
    for (const b of blocks)
      expect((b as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(3000);
    const m = toolMessage('service_logs', {
      service: 'x',
      containers: [],
      lines: huge
        .split('\n')
        .map((l) => ({ container: 'c', stream: 'stdout', time: null, text: l, level: null })),
      truncated: false,
      redactions: 0,
      unavailable: [],
    });
    expect(m.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
    expect(m.text.length).toBeLessThanOrEqual(3000);
  });

  it('escapes what comes from the stack so it cannot ping or link', () => {
    const m = toolMessage('unknown_tool', { msg: '<!channel> & <@U1>' });
    expect(JSON.stringify(m.blocks)).toContain('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });
});

// Slack notifies from the fallback `text`: a log line saying <!channel> must not ping the channel there either.
describe('Slack fallback text', () => {
  const HOSTILE =
    'deploy <!channel> <!here> <!everyone> ping <@U024BE7LH> in <#C0123ABCD> & <https://x.example|click>';
  const ESCAPED =
    'deploy &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; ping &lt;@U024BE7LH&gt; in &lt;#C0123ABCD&gt; &amp; &lt;https://x.example|click&gt;';
  const noMarkup = (text: string) => {
    expect(text).not.toMatch(/<[!@#]|<https?:/);
    expect(text).toContain(ESCAPED);
  };

  it('escapes mentions in a tool result (a log line) as the blocks do', () => {
    const m = toolMessage('service_logs', {
      project: 'p',
      service: 'orchestrator',
      containers: ['p-orchestrator-1'],
      lines: [{ container: 'p-orchestrator-1', stream: 'stdout', time: null, level: null, text: HOSTILE }],
      scannedLines: 1,
      matchedLines: 1,
      scanLimitReached: false,
      truncated: false,
      redactions: 0,
      unavailable: [],
    });
    noMarkup(m.text);
    expect(JSON.stringify(m.blocks)).toContain(ESCAPED);
  });

  it('escapes mentions in approval plans, incidents, answers, errors and scheduled reports', async () => {
    const plan = planMessage({
      id: 'a1',
      tool: 'restart_service',
      input: {},
      project: 'p',
      requester: `mcp:${HOSTILE}`,
      requesterSurface: 'mcp',
      plan: { summary: HOSTILE, steps: [], dataAtRisk: [], fingerprint: 'f' },
      status: 'pending',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2026-01-01T00:15:00Z',
    });
    noMarkup(plan.text);

    const incident = incidentMessage({
      id: 'i1',
      key: 'service:orchestrator',
      service: 'orchestrator',
      kinds: ['restart_loop'],
      title: `orchestrator ${HOSTILE}`,
      verdict: HOSTILE,
      evidence: [HOSTILE],
      deaths: 3,
      oomKills: 0,
      openedAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      resolvedAt: null,
      status: 'open',
    });
    noMarkup(incident.text);
    // the evidence code block too
    expect(JSON.stringify(incident.blocks)).not.toMatch(/<[!@#]/);

    const answer = answerMessage({
      question: 'why?',
      via: 'model',
      answer: HOSTILE,
      intent: null,
      clarify: null,
      evidence: [],
      refused: [],
      note: HOSTILE,
    });
    noMarkup(answer.text);

    const error = errorMessage(
      new ToolError('failed', `exec failed: ${HOSTILE}`, { hint: HOSTILE }),
      `/doom logs ${HOSTILE}`,
      createLogger('silent'),
    );
    noMarkup(error.text);
    expect(JSON.stringify(error.blocks)).not.toMatch(/<[!@#]/);

    const posted: Array<{ text: string }> = [];
    const client = { chat: { postMessage: async (m: { text: string }) => posted.push(m) } };
    await scheduleReporter(client as never, 'C1', createLogger('silent'))(
      { result: 'failed', reason: HOSTILE, steps: [], slot: 's', by: 'b' } as never,
      { name: 'digest', cron: '0 8 * * *', steps: [] } as never,
      [],
    );
    noMarkup(posted[0]!.text);
  });
});

describe('question router', () => {
  it('routes known intents to read tools with the service matched fuzzily', () => {
    expect(route('why did orch restart?', SERVICES)).toEqual({
      kind: 'tool',
      intent: 'restart_reason',
      tool: 'explain_restarts',
      input: { service: 'orchestrator' },
    });
    expect(route('was mongodb OOM killed?', SERVICES)).toMatchObject({
      tool: 'diagnose_oom',
      input: { service: 'mongodb' },
    });
    expect(route('is the stack healthy?', SERVICES)).toMatchObject({ tool: 'stack_health', input: {} });
    expect(route('who is eating the memory?', SERVICES)).toMatchObject({ tool: 'service_stats' });
    expect(route('any errors in nats?', SERVICES)).toMatchObject({
      tool: 'service_logs',
      input: { service: 'nats', level: 'error' },
    });
    expect(route('how are the backups?', SERVICES)).toMatchObject({ tool: 'list_backups' });
    // Other ways on-call asks why something died, or whether the whole stack is down.
    for (const q of [
      'what killed orchestrator?',
      'orchestrator keeps exiting',
      'why is orchestrator crashing?',
      'why did orchestrator fail?',
      'is orchestrator down?',
      'what happened to orchestrator',
    ])
      expect(route(q, SERVICES), q).toMatchObject({
        tool: 'explain_restarts',
        input: { service: 'orchestrator' },
      });
    expect(route('is the stack down?', SERVICES)).toMatchObject({ tool: 'stack_health', input: {} });
    expect(route('is anything down?', SERVICES)).toMatchObject({ tool: 'stack_health' });
  });

  it('asks back instead of guessing', () => {
    expect(route('why did it restart?', SERVICES)).toMatchObject({
      kind: 'clarify',
      question: expect.stringMatching(/Which service/),
    });
    expect(route('why did o restart', ['orchestrator', 'opensearch'])).toMatchObject({ kind: 'clarify' });
    expect(matchServices('why did opens restart', ['orchestrator', 'opensearch']).matched).toEqual([
      'opensearch',
    ]);
    expect(route('tell me a joke', SERVICES)).toEqual({ kind: 'unknown', question: 'tell me a joke' });
  });
});

describe('Slack app manifest', () => {
  it('declares the command, events, scopes and endpoint the bot uses', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const m = parse(readFileSync('slack/manifest.yml', 'utf8'));
    expect(m.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/doom']);
    expect(m.settings.event_subscriptions.bot_events.sort()).toEqual(['app_mention', 'message.im']);
    expect(m.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        'commands',
        'chat:write',
        'app_mentions:read',
        'im:history',
        'usergroups:read',
      ]),
    );
    for (const url of [
      m.features.slash_commands[0].url,
      m.settings.event_subscriptions.request_url,
      m.settings.interactivity.request_url,
    ])
      expect(url).toMatch(/^https:\/\/.+\/slack\/events$/);
    expect(m.settings.interactivity.is_enabled).toBe(true);
  });
});
