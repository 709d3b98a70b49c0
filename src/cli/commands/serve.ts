import type { Command } from 'commander';
import type { ServeWork } from '../serve-work.js';

/**
 * What the action uses, loaded when `serve` runs: the MCP SDK, Bolt, croner and the whole tool
 * registry stay out of every other command's start-up.
 */
async function load() {
  const [errors, logger, guard, recorder, scheduler, incidents, options, report, watcher, runtime, work] =
    await Promise.all([
      import('../../errors.js'),
      import('../../logger.js'),
      import('../../mcp/http-guard.js'),
      import('../../recorder/start.js'),
      import('../../schedule/scheduler.js'),
      import('../../slack/incidents.js'),
      import('../../slack/options.js'),
      import('../../slack/schedule-report.js'),
      import('../../watch/watcher.js'),
      import('../runtime.js'),
      import('../serve-work.js'),
    ]);
  return {
    ToolError: errors.ToolError,
    createLogger: logger.createLogger,
    isLoopback: guard.isLoopback,
    startRecorder: recorder.startRecorder,
    Scheduler: scheduler.Scheduler,
    slackIncidentNotifier: incidents.slackIncidentNotifier,
    slackOptionsFromEnv: options.slackOptionsFromEnv,
    scheduleReporter: report.scheduleReporter,
    IncidentWatcher: watcher.IncidentWatcher,
    reportError: runtime.reportError,
    surfaceDeps: runtime.surfaceDeps,
    startServeWork: work.startServeWork,
  };
}

interface ServeOptions {
  project?: string;
  host?: string;
  port?: string;
  auth: boolean;
  allowOrigin: string[];
  allowHost: string[];
  record: boolean;
  schedule: boolean;
  watch: boolean;
  slackSocketMode?: boolean;
  toolsets?: string;
  outputSchemas?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve MCP over Streamable HTTP at /mcp (bearer token from DOOM_OPS_MCP_TOKEN), /healthz, and the Slack bot at /slack/events when SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set',
    )
    .option(
      '-p, --project <name>',
      'Compose project (default: COMPOSE_PROJECT_NAME, then config, then clau-doom)',
    )
    .option('--host <host>', 'address to bind (default DOOM_OPS_HTTP_HOST or 127.0.0.1)')
    .option('--port <port>', 'port (default DOOM_OPS_HTTP_PORT or 7801; 0 picks a free one)')
    .option('--no-auth', 'serve /mcp without a token (refused unless bound to a loopback address)')
    .option('--allow-origin <origin>', 'also accept this browser Origin on /mcp (repeatable)', collect, [])
    .option(
      '--allow-host <host:port>',
      'also accept this Host header, e.g. behind a proxy (repeatable)',
      collect,
      [],
    )
    .option('--no-record', 'do not record engine events (default: recorder.enabled in config)')
    .option('--no-schedule', 'do not run the scheduled jobs (schedule.jobs in config)')
    .option('--no-watch', 'do not watch for incidents (watch.* in config; needs the recorder)')
    .option(
      '--toolsets <names>',
      'toolsets tools/list shows at first, comma-separated, or all (config mcp.toolsets)',
    )
    .option('--output-schemas', 'advertise every output schema in tools/list (config mcp.outputSchemas)')
    .option(
      '--slack-socket-mode',
      'connect to Slack over Socket Mode (SLACK_APP_TOKEN) instead of serving /slack/events; for development',
    )
    .action(async (opts: ServeOptions) => {
      const {
        ToolError,
        createLogger,
        isLoopback,
        startRecorder,
        Scheduler,
        slackIncidentNotifier,
        slackOptionsFromEnv,
        scheduleReporter,
        IncidentWatcher,
        reportError,
        surfaceDeps,
        startServeWork,
      } = await load();
      const logger = createLogger(process.env.DOOM_OPS_LOG_LEVEL ?? 'info');
      let work: ServeWork | undefined;
      try {
        const base = {
          ...surfaceDeps(opts, { id: 'mcp:http', surface: 'mcp' as const, transport: 'http' as const }),
          logger,
        };
        const host = opts.host ?? base.config.http.host;
        const port =
          opts.port === undefined
            ? base.config.http.port
            : /^\d+$/.test(opts.port)
              ? Number(opts.port)
              : Number.NaN;
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new ToolError('invalid_input', `--port: "${opts.port}" is not a port number`);
        const token = process.env.DOOM_OPS_MCP_TOKEN || undefined;
        if (opts.auth && !token) {
          throw new ToolError(
            'config_invalid',
            'DOOM_OPS_MCP_TOKEN is not set: refusing to serve /mcp without authentication',
            {
              hint: 'set DOOM_OPS_MCP_TOKEN to a long random value (e.g. `openssl rand -hex 32`), or pass --no-auth to serve unauthenticated on a loopback address only',
            },
          );
        }
        if (!opts.auth && !isLoopback(host)) {
          throw new ToolError('not_allowed', `--no-auth is only allowed on a loopback address, not ${host}`, {
            hint: 'bind to 127.0.0.1, or set DOOM_OPS_MCP_TOKEN',
          });
        }
        const slackOpts = slackOptionsFromEnv();
        if (opts.slackSocketMode && !slackOpts)
          throw new ToolError(
            'config_invalid',
            '--slack-socket-mode: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are not set',
            {
              hint: 'set them (and SLACK_APP_TOKEN) from the Slack app created from slack/manifest.yml',
            },
          );
        if (opts.slackSocketMode && slackOpts) slackOpts.appToken = process.env.SLACK_APP_TOKEN;
        // One worker pool (and state cache) for Slack, MCP, the watcher and the scheduler.
        work = startServeWork(base);
        const deps = { ...base, runner: work.runner };
        const slack = slackOpts
          ? (await import('../../slack/app.js')).createSlackBot(
              deps,
              slackOpts,
              Boolean(opts.slackSocketMode),
            )
          : undefined;
        await slack?.start();
        const { serveHttp } = await import('../../mcp/http.js');
        const running = await serveHttp(deps, {
          routes: slack?.requestListener ? { '/slack/events': slack.requestListener } : {},
          host,
          port,
          token: opts.auth ? token : undefined,
          allowedHosts: [...deps.config.http.allowedHosts, ...opts.allowHost],
          allowedOrigins: [...deps.config.http.allowedOrigins, ...opts.allowOrigin],
        });
        const recorder = opts.record && deps.config.recorder.enabled ? await startRecorder(deps) : undefined;
        const reportTo = deps.config.schedule.channel ?? deps.config.watch.channel;
        const scheduler = opts.schedule
          ? new Scheduler(
              deps,
              slack && reportTo ? scheduleReporter(slack.client, reportTo, logger) : undefined,
            )
          : undefined;
        scheduler?.start();
        // One watcher per stack: it runs where the recorder runs (the process holding its lock).
        const channel = deps.config.watch.channel;
        const watcher =
          recorder && opts.watch && deps.config.watch.enabled
            ? new IncidentWatcher(
                deps,
                slack && channel ? slackIncidentNotifier(slack.client, channel) : undefined,
              )
            : undefined;
        // The watcher acts on the recorder's stream: the state cache and the shared reads must not
        // be behind it (an event seen there first drops the container's entry here too).
        if (recorder && work.cache) {
          const cache = work.cache;
          recorder.onEvent((e) => cache.onEvent(e));
        }
        if (watcher && recorder) {
          recorder.onEvent((e) => watcher.onEvent(e));
          watcher.start();
        }
        // Tests and supervisors read this line to find the port.
        const slackNote = slack
          ? opts.slackSocketMode
            ? ', Slack over Socket Mode'
            : `, Slack at ${running.url}/slack/events`
          : '';
        process.stderr.write(
          `doom-ops: serving ${running.url}/mcp and ${running.url}/healthz (project ${deps.config.project}${opts.auth ? '' : ', NO AUTH'}${recorder ? ', recording events' : ''}${watcher ? ', watching for incidents' : ''}${scheduler?.jobs ? `, ${scheduler.jobs} scheduled job(s)` : ''}${slackNote})\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await Promise.all([
          running.close(),
          recorder?.stop(),
          slack?.stop(),
          scheduler?.stop(),
          watcher?.stop(),
        ]);
      } catch (err) {
        process.exitCode = reportError(err, {}, logger);
      } finally {
        await work?.stop();
      }
    });
}
