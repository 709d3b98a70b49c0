import { z } from 'zod';
import { parseBytes, parseDurationMs } from '../util/duration.js';

/** "30s", "2m" or a number of milliseconds, as milliseconds. */
export const byteSize = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const bytes = parseBytes(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a size (use e.g. 512MiB, 20GiB, 50GB)` });
    return z.NEVER;
  }
  return bytes;
});

export const durationMs = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use e.g. 500ms, 30s, 10m, 2h)` });
    return z.NEVER;
  }
  return ms;
});

/** Compose normalises project names to this alphabet; we accept only names it would keep. */
export const projectName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]*$/,
    'must be lowercase letters, digits, "-" or "_" (as Compose names projects)',
  );

export const serviceName = z
  .string()
  .max(63)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a Compose service name: letters, digits, ".", "_" or "-"');

const deepCheck = z
  .object({
    http: z.url().optional().describe('GET this URL; 2xx is healthy'),
    exec: z.array(z.string()).min(1).optional().describe('argv run inside the container; exit 0 is healthy'),
    ollama: z
      .object({ url: z.url(), model: z.string().min(1) })
      .strict()
      .optional()
      .describe("Ollama's /api/tags at this base URL answers and lists this model"),
    mongodb: z
      .literal(true)
      .optional()
      .describe(
        'through the MongoDB driver at the top-level mongodb.uri: ping, serverStatus, and (mongodb.replicaSet) a PRIMARY member',
      ),
    timeout: durationMs.default(5000),
  })
  .strict()
  .refine((c) => [c.http, c.exec, c.ollama, c.mongodb].filter(Boolean).length === 1, {
    message: 'give exactly one of http, exec, ollama or mongodb',
  });

/** One smoke-test probe (design: the handbook's smoke_test.sh as config). Exactly one kind. */
const smokeProbe = z
  .object({
    name: z.string().min(1),
    http: z.url().optional().describe('GET from doom-ops (a port published on 127.0.0.1); 2xx passes'),
    exec: z
      .object({ service: serviceName, argv: z.array(z.string()).min(1) })
      .strict()
      .optional()
      .describe('run inside a running replica of the service; exit 0 passes'),
    tcp: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535) })
      .strict()
      .optional()
      .describe('a TCP connect (e.g. a gRPC port when no probe binary is available)'),
    expect: z.string().optional().describe('regular expression the HTTP body or exec stdout must match'),
    timeout: durationMs.default(5000),
  })
  .strict()
  .refine((p) => [p.http, p.exec, p.tcp].filter(Boolean).length === 1, {
    message: 'give exactly one of http, exec or tcp',
  });
export type SmokeProbe = z.output<typeof smokeProbe>;

/** A restic repository: URL (path, sftp:, rest:, rclone:, s3:, …), password source, options, environment. */
const resticRepository = z
  .object({
    url: z.string().min(1),
    /** Where the password is: an environment variable's name, or a file. Never the password itself. */
    password: z
      .object({
        env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .optional(),
        file: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** restic extended options, key=value (e.g. "sftp.command=ssh -p 2222 backup@host -s sftp"). */
    options: z.array(z.string().regex(/^[A-Za-z0-9_.-]+=/, 'key=value')).default([]),
    /** Extra environment for restic (RCLONE_CONFIG_*, AWS_ACCESS_KEY_ID, …); values are redacted in output. */
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const scheduledJob = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'lowercase letters, digits and dashes'),
    /** Five fields (minute hour day month weekday), or six with seconds first. */
    cron: z.string().min(9),
    /** Tools run in order; a failed step ends the run. */
    steps: z
      .array(z.object({ tool: z.string(), input: z.record(z.string(), z.unknown()).default({}) }).strict())
      .min(1),
    /** After downtime: run the latest missed slot once, or skip it. */
    missed: z.enum(['run-once', 'skip']).default('run-once'),
    /**
     * The human who approved this job's destructive steps in advance (e.g. "alice, change 42"). Without
     * it a destructive step is refused like any unapproved call; with it every run is audited under it.
     */
    approvedBy: z.string().min(1).optional(),
    /** Post every result to Slack, or only failures. */
    report: z.enum(['always', 'failures']).default('always'),
    enabled: z.boolean().default(true),
  })
  .strict();
export type ScheduledJob = z.output<typeof scheduledJob>;

const expectedService = z
  .object({
    critical: z.boolean().default(true),
    startPeriod: durationMs.default(30_000),
    /** No container at all is fine (e.g. a service scaled to zero on purpose). */
    optional: z.boolean().default(false),
    deepCheck: deepCheck.optional(),
    /** Services that must be healthy before this one can work (the handbook's startup DAG). */
    dependsOn: z.array(serviceName).default([]),
  })
  .strict();

export const ROLES = ['viewer', 'operator', 'approver'] as const;
const role = z.enum(ROLES);

const execStep = z
  .object({
    /** Service whose first running replica runs the command (e.g. the orchestrator). */
    service: serviceName,
    /** argv; {container}, {service}, {number} and {project} are replaced for the replica being drained. */
    command: z.array(z.string()).min(1),
  })
  .strict();

const scaledService = z
  .object({
    min: z.number().int().min(0).default(0),
    max: z.number().int().min(1).default(50),
    /** Run before a replica is removed; its failure or timeout stops the scale-down unless forced. */
    drain: z
      .object({
        exec: execStep,
        /** Polled until it exits 0 (the replica finished its in-flight work), up to timeout. */
        wait: execStep.optional(),
        timeout: durationMs.default(60_000),
        pollEvery: durationMs.default(1000),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A Docker engine endpoint: unix:///absolute/path, tcp://host:port or ssh://[user@]host[:port]. */
const engineEndpoint = z.string().refine((v) => {
  try {
    const u = new URL(v);
    if (u.protocol === 'unix:') return u.host === '' && u.pathname.startsWith('/') && u.pathname.length > 1;
    if (u.protocol === 'tcp:' || u.protocol === 'ssh:') return u.hostname !== '';
    return false;
  } catch {
    return false;
  }
}, 'must be unix:///absolute/path, tcp://host:port (port 1-65535) or ssh://[user@]host[:port]');

export const configSchema = z
  .object({
    project: projectName.default('clau-doom'),
    docker: z
      .object({ timeout: durationMs.default(10_000) })
      .strict()
      .default({ timeout: 10_000 }),
    services: z.record(serviceName, expectedService).default({}),
    logs: z
      .object({
        defaultTail: z.number().int().positive().default(100),
        maxTail: z.number().int().positive().default(5000),
        scanLines: z.number().int().positive().default(20_000),
        maxBytes: z.number().int().positive().default(262_144),
        /** Where export_logs writes (relative = cwd), and its cap per service file. */
        exportDir: z.string().min(1).default('log-exports'),
        exportMaxBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    readOnly: z.boolean().default(false),
    /** Audit log, approvals and locks live here (DOOM_OPS_STATE_DIR overrides). */
    stateDir: z.string().min(1).default('.doom-ops'),
    roles: z
      .object({
        /**
         * Role of a principal not listed below, by surface. Local users (CLI, MCP over stdio) already
         * hold the Docker socket: approvers. `mcp` is a bearer-token holder of MCP over HTTP: an
         * operator, whose destructive calls wait for an approver out of band.
         */
        defaults: z
          .object({
            cli: role.default('approver'),
            mcp: role.default('operator'),
            mcpStdio: role.default('approver'),
            slack: role.default('viewer'),
            internal: role.default('approver'),
          })
          .strict()
          .default({
            cli: 'approver',
            mcp: 'operator',
            mcpStdio: 'approver',
            slack: 'viewer',
            internal: 'approver',
          }),
        /** Principal id (cli:alice, mcp:http, slack:U123…) to role. */
        principals: z.record(z.string(), role).default({}),
      })
      .strict()
      .default({
        defaults: {
          cli: 'approver',
          mcp: 'operator',
          mcpStdio: 'approver',
          slack: 'viewer',
          internal: 'approver',
        },
        principals: {},
      }),
    smoke: z
      .object({ probes: z.array(smokeProbe).default([]) })
      .strict()
      .prefault({}),
    /** stack_down: the handbook's graceful shutdown, as configured steps. */
    lifecycle: z
      .object({
        /** Tell the orchestrator to stop accepting work (argv exec'd in the service); none = skipped. */
        stopAcceptingWork: z
          .object({ service: serviceName, argv: z.array(z.string()).min(1) })
          .strict()
          .optional(),
        /** Exit 0 = no episode in flight; polled until then or the timeout (instead of the handbook's sleep 300). */
        inFlight: z
          .object({
            service: serviceName,
            argv: z.array(z.string()).min(1),
            timeout: durationMs.default(300_000),
            every: durationMs.default(5000),
          })
          .strict()
          .optional(),
        /**
         * NATS JetStream in the flush: before anything is stopped, wait (bounded) until no consumer has
         * messages delivered but not yet acknowledged (num_ack_pending in the server's /jsz). Read from
         * `url` (or every server of a cluster in `urls`), else from `exec` (argv printing
         * /jsz?consumers=true inside each running container of `service`), else from each container's
         * monitor port: its published port on 127.0.0.1, else the container's own address.
         */
        jetstream: z
          .object({
            enabled: z.boolean().default(true),
            service: serviceName.default('nats'),
            url: z
              .url()
              .optional()
              .describe('the monitor endpoint as doom-ops reaches it, e.g. http://127.0.0.1:8222'),
            urls: z
              .array(z.url())
              .min(1)
              .optional()
              .describe(
                "a JetStream cluster: every server's monitor endpoint (each lists only the streams it hosts)",
              ),
            exec: z
              .array(z.string())
              .min(1)
              .optional()
              .describe(
                'argv printing /jsz?consumers=true JSON, run in every running container of the service',
              ),
            monitorPort: z.number().int().min(1).max(65535).default(8222),
            timeout: durationMs.default(60_000),
            every: durationMs.default(1000),
          })
          .strict()
          .refine((j) => [j.url, j.urls, j.exec].filter(Boolean).length <= 1, {
            message: 'give at most one of url, urls or exec',
          })
          .prefault({}),
        /**
         * MongoDB's flush to disk ({fsync: 1}): `driver` through the driver at mongodb.uri (no mongosh
         * needed in the image); `auto` the driver when mongodb.uri is set, else mongosh exec'd in
         * backup.mongodb.service; an argv: that command exec'd there; [] = skipped.
         */
        mongoFsync: z.union([z.enum(['auto', 'driver']), z.array(z.string())]).default('auto'),
        /** POST <backup.opensearch.url>/_flush before stopping. */
        opensearchFlush: z.boolean().default(true),
        /** Stop timeout for containers that set none (the handbook's `down --timeout 30`). */
        stopTimeout: durationMs.default(30_000),
      })
      .strict()
      .prefault({}),
    /** The ask tool's language model (OLLAMA_HOST / OLLAMA_MODEL); without both, ask uses the router only. */
    ollama: z
      .object({
        host: z.url().optional(),
        model: z.string().min(1).optional(),
        /** The whole model loop, tool calls included; past it the router answers. */
        timeout: durationMs.default(60_000),
        /** Model turns (each may call tools) before giving up. */
        maxSteps: z.number().int().min(1).max(10).default(4),
        /** Characters of one tool result handed to the model (logs are cut with a note). */
        maxToolChars: z.number().int().min(500).default(6000),
      })
      .strict()
      .prefault({}),
    /** Slack surface (secrets come from SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN / SLACK_APP_TOKEN, never from here). */
    slack: z
      .object({
        /** Channel IDs where /doom and mentions are answered; empty = any channel the app is in. */
        channels: z.array(z.string()).default([]),
        /** Where approval requests from MCP callers without elicitation are posted for a human. */
        approvalsChannel: z.string().optional(),
        /** Slack user-group ID (S…) to role, for users not listed in roles.principals. */
        userGroups: z.record(z.string(), role).default({}),
        /** How long a looked-up user-group membership is trusted. */
        userGroupsTtl: durationMs.default(300_000),
      })
      .strict()
      .prefault({}),
    watch: z
      .object({
        /** `doom-ops serve` watches the engine for incidents (with the recorder's lock: one process per stack). */
        enabled: z.boolean().default(true),
        /** Slack channel ID incidents are posted to; without one they are only kept (recent_incidents). */
        channel: z.string().optional(),
        /** This many deaths of one service within `window` is a restart loop (an OOM kill is an incident at once). */
        restartLoop: z
          .object({ count: z.number().int().min(2).default(3), window: durationMs.default(600_000) })
          .strict()
          .prefault({}),
        /** How often service states are checked (missing critical services, recovery). */
        checkEvery: durationMs.default(15_000),
        /** How often volumes and play logs are checked against disk.* thresholds. */
        diskEvery: durationMs.default(600_000),
        /** A critical service with no container this long, while the rest of the stack runs, is an incident. */
        missingAfter: durationMs.default(60_000),
        /** An incident is resolved once its service has been OK, with no new death, this long. */
        recoverAfter: durationMs.default(60_000),
        /** At most `messages` Slack posts and edits per `per`; later changes wait and are merged. */
        rateLimit: z
          .object({ messages: z.number().int().positive().default(6), per: durationMs.default(600_000) })
          .strict()
          .prefault({}),
        /** What the mute button silences an incident for. */
        muteFor: durationMs.default(3_600_000),
      })
      .strict()
      .prefault({}),
    schedule: z
      .object({
        /** Slack channel ID for job results (default: watch.channel). */
        channel: z.string().optional(),
        /** IANA time zone of the cron expressions. */
        timezone: z.string().default('UTC'),
        jobs: z.array(scheduledJob).default([]),
      })
      .strict()
      .prefault({}),
    approvals: z
      .object({ ttl: durationMs.default(300_000), elicitationTimeout: durationMs.default(300_000) })
      .strict()
      .default({ ttl: 300_000, elicitationTimeout: 300_000 }),
    scaling: z
      .object({
        /** The service scale_agents acts on, with the handbook's AGENT_POOL_MIN/MAX as bounds. */
        agentService: serviceName.default('agent'),
        services: z.record(serviceName, scaledService).default({}),
        /**
         * The handbook's generation-based scaling, for scale_agents' `generation`: the first rule
         * whose `upTo` is at least the generation (a rule without `upTo` takes every later one)
         * gives the agent count. Default: ≤ 3 → 6, ≤ 7 → 4, later → 2.
         */
        generations: z
          .array(
            z
              .object({
                upTo: z.number().int().min(0).optional(),
                agents: z.number().int().min(0).max(100),
              })
              .strict(),
          )
          .min(1)
          .default([{ upTo: 3, agents: 6 }, { upTo: 7, agents: 4 }, { agents: 2 }]),
      })
      .strict()
      .prefault({}),
    stack: z
      .object({
        /**
         * compose: a Compose project on one engine; swarm: a stack deployed with `docker stack
         * deploy` (services labelled com.docker.stack.namespace=<project>) on the manager that
         * DOCKER_HOST points at; auto: swarm when the engine is an active manager holding such
         * services and no Compose container of the project exists, else compose.
         */
        kind: z.enum(['auto', 'compose', 'swarm']).default('auto'),
      })
      .strict()
      .prefault({}),
    swarm: z
      .object({
        /**
         * Each node's own engine by node hostname (unix://…, tcp://host:port or ssh://[user@]host),
         * for what only it can answer: OOM kills, stats, exec, volume archives. A node without one
         * is named as such in answers.
         */
        nodes: z.record(z.string().min(1), engineEndpoint).default({}),
      })
      .strict()
      .prefault({}),
    compose: z
      .object({
        /** Where the stack's Compose files live; lint_compose reads only files under it. */
        dir: z.string().min(1).default('.'),
        /** Base plus production overrides, in Compose's merge order. */
        files: z.array(z.string()).default(['docker-compose.yml', 'docker-compose.prod.yml']),
      })
      .strict()
      .default({ dir: '.', files: ['docker-compose.yml', 'docker-compose.prod.yml'] }),
    backup: z
      .object({
        /** Where backups are written (DOOM_OPS_BACKUP_DIR overrides; relative = cwd). */
        dir: z.string().min(1).default('backups'),
        /**
         * The restic repository backups go to. Default: a local repository at <backup.dir>/restic,
         * created on first use, with a generated key in <stateDir>/restic/ unless a password is set.
         */
        repository: resticRepository.partial({ url: true }).prefault({}),
        /** The restic program: a name looked up on PATH, or a path (restic 0.14 or later). */
        restic: z.string().min(1).default('restic'),
        /** Repositories every backup is copied to (`restic copy`) after it is written; each needs a password. */
        offsite: z
          .array(
            resticRepository.extend({
              name: z
                .string()
                .regex(/^[a-z0-9][a-z0-9-]{0,40}$/)
                .refine(
                  (n) => n !== 'local' && n !== 'legacy',
                  'local and legacy name the local repository and pre-restic backups',
                ),
            }),
          )
          .default([]),
        /**
         * Named volumes (Compose volume keys, e.g. nats-data) the volumes component archives.
         * Empty (the default): every named volume of the stack, found by its Compose labels.
         */
        volumes: z.array(z.string()).default([]),
        /** Volume keys left out of the volumes component. */
        exclude: z.array(z.string()).default([]),
        /**
         * How restic reads a volume. auto (default): a plain local volume whose directory on this
         * host (the engine's Mountpoint) doom-ops can read is backed up file by file by restic
         * itself, which skips unchanged files on the next backup (incremental); any other volume
         * (another driver or host, an unreadable directory) streams as a tar through the Engine API.
         * engine: always the Engine API stream (every backup reads the whole volume).
         */
        volumeAccess: z.enum(['auto', 'engine']).default('auto'),
        /**
         * Services stopped (gracefully) while their volumes are archived and always started again,
         * in addition to those labelled doom-ops.backup.stop=true: for data without a dump tool.
         */
        stop: z.array(serviceName).default([]),
        /** Longest a service stays stopped for a backup: the archive is abandoned and the service started. */
        stopMax: durationMs.default(1_800_000),
        /** argv exec'd in a service's first running replica before (pre) and after (post) its volumes are archived. */
        hooks: z
          .record(
            serviceName,
            z
              .object({ pre: z.array(z.string()).default([]), post: z.array(z.string()).default([]) })
              .strict(),
          )
          .default({}),
        /**
         * The handbook's policy, per stack, component and target: newest backup of each of the last
         * N days / ISO weeks; `safety`: the newest N safety backups (taken before a restore) per target.
         */
        retention: z
          .object({
            daily: z.number().int().min(0).default(7),
            weekly: z.number().int().min(0).default(4),
            safety: z.number().int().min(1).default(3),
          })
          .strict()
          .prefault({}),
        /** No good restore drill within this long: health warns. */
        drillMaxAge: durationMs.default(8 * 86_400_000),
        /** Ignored since backups went to restic (restic compresses); accepted so older config files load. */
        gzipLevel: z.number().int().min(1).max(9).optional(),
        mongodb: z
          .object({
            service: serviceName.default('mongodb'),
            /** As seen from inside the mongodb container; a password here is redacted everywhere. */
            uri: z.string().default('mongodb://localhost:27017'),
          })
          .strict()
          .default({ service: 'mongodb', uri: 'mongodb://localhost:27017' }),
        /** Restore drills (drill_backup). */
        drill: z
          .object({
            /**
             * How doom-ops reaches the scratch mongod of a drill through the driver, to count the
             * restored documents per collection: {ip} is replaced by the scratch container's address
             * on its network, {name} by its name. Without user and password here, those of
             * backup.mongodb.uri are used (the scratch mongod runs with the live one's environment).
             */
            mongodbUri: z
              .string()
              .regex(/^mongodb:\/\/\S+$/, 'must be a mongodb:// URI ({ip} and {name} are replaced)')
              .default('mongodb://{ip}:27017'),
            /**
             * The network the scratch mongod joins. Default: an internal network of the drill's own,
             * created and removed with it (reachable from this host, from no other container); name
             * one doom-ops is on when it runs in a container.
             */
            mongodbNetwork: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
        opensearch: z
          .object({
            service: serviceName.default('opensearch'),
            /** REST endpoint as doom-ops reaches it (a published port on 127.0.0.1). */
            url: z.string().url().default('http://127.0.0.1:9200'),
            repository: z.string().default('backup'),
            /** Filesystem path of the fs repository inside OpenSearch (must be in path.repo). */
            location: z.string().default('/mnt/backup/opensearch'),
          })
          .strict()
          .default({
            service: 'opensearch',
            url: 'http://127.0.0.1:9200',
            repository: 'backup',
            location: '/mnt/backup/opensearch',
          }),
        duckdb: z
          .object({
            service: serviceName.default('agent'),
            /** The play log inside each agent container. */
            file: z.string().startsWith('/').default('/data/play_logs.duckdb'),
            /** Run in the agent before copying ({file} is replaced); [] skips the checkpoint. */
            checkpoint: z.array(z.string()).default(['duckdb', '{file}', '-c', 'CHECKPOINT;']),
          })
          .strict()
          .default({
            service: 'agent',
            file: '/data/play_logs.duckdb',
            checkpoint: ['duckdb', '{file}', '-c', 'CHECKPOINT;'],
          }),
      })
      .strict()
      .prefault({}),
    /**
     * MongoDB as doom-ops itself reaches it through the driver (deepCheck { mongodb: true }, the
     * fsync of a shutdown): e.g. mongodb://127.0.0.1:27017 (a port published on the host) or
     * mongodb://mongodb:27017 when doom-ops runs in the stack. DOOM_OPS_MONGODB_URI overrides; a
     * password here is redacted everywhere.
     */
    mongodb: z
      .object({
        uri: z
          .string()
          .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URI')
          .optional(),
        /** Also read replSetGetStatus: the deep check fails while the set has no PRIMARY member. */
        replicaSet: z.boolean().default(false),
        /** Finding the server and connecting to it give up after this. */
        timeout: durationMs.default(5000),
      })
      .strict()
      .prefault({}),
    recorder: z
      .object({
        /** `doom-ops serve` records the project's container events (doom-ops record always does). */
        enabled: z.boolean().default(true),
        /** The event log rotates past this size (one previous file kept). */
        maxBytes: byteSize.default(16 * 1024 ** 2),
      })
      .strict()
      .default({ enabled: true, maxBytes: 16 * 1024 ** 2 }),
    /**
     * The handbook's required variables, per service: lint reports each one a service's
     * environment lacks or leaves empty (as Compose computes it: env_file, environment, .env
     * interpolation), health each running container that lacks one. Names only, never values.
     */
    requiredVariables: z
      .record(
        serviceName,
        z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')),
      )
      .default({
        orchestrator: ['NATS_URL', 'MONGODB_URI', 'OPENSEARCH_ENDPOINT'],
        agent: ['NATS_URL', 'GRPC_ENDPOINT', 'DUCKDB_DATA_PATH'],
        dashboard: ['GRPC_ENDPOINT', 'OPENSEARCH_ENDPOINT'],
        opensearch: ['OPENSEARCH_DATA_PATH'],
        mongodb: ['MONGODB_DATA_PATH'],
      }),
    disk: z
      .object({
        /** Size thresholds of named volumes (the Compose volume key, e.g. opensearch-data). */
        volumes: z.record(z.string(), byteSize).default({}),
        /** DuckDB play logs inside each agent (the handbook's monitor_duckdb.sh). */
        playLogs: z
          .object({
            service: serviceName.default('agent'),
            dir: z.string().startsWith('/').default('/data/duckdb'),
            /** File name suffix of a play log. */
            suffix: z.string().default('.duckdb'),
            threshold: byteSize.default(50 * 1024 ** 3),
          })
          .strict()
          .default({ service: 'agent', dir: '/data/duckdb', suffix: '.duckdb', threshold: 50 * 1024 ** 3 }),
        /** Each container's log file (json-file driver) counts against this size. */
        logs: byteSize.default(100 * 1024 ** 2),
      })
      .strict()
      .prefault({}),
    mcp: z
      .object({
        /**
         * The toolsets tools/list shows at the start of an MCP session (`all` = every tool); a
         * client adds more with enable_toolsets. Read-only mode still filters on top. CLI and
         * Slack serve every tool.
         */
        toolsets: z
          .array(z.string().regex(/^[a-z]+$/))
          .min(1)
          .default(['health', 'diagnosis', 'logs']),
        /**
         * Advertise each tool's outputSchema in tools/list. Off by default: they are most of the
         * list's size and an agent reads the text result; structuredContent is sent either way.
         */
        outputSchemas: z.boolean().default(false),
        /** A tool's text result longer than this (characters) is cut, with a hint on how to narrow. */
        textBudget: z.number().int().min(500).default(6000),
      })
      .strict()
      .default({ toolsets: ['health', 'diagnosis', 'logs'], outputSchemas: false, textBudget: 6000 }),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7801),
        /** Extra Host header values (host:port) accepted on /mcp, e.g. behind a reverse proxy. */
        allowedHosts: z.array(z.string()).default([]),
        /** Browser Origins allowed on /mcp; none by default (DNS-rebinding protection). */
        allowedOrigins: z.array(z.string()).default([]),
        /** An MCP session with no request for this long is closed (its memory freed); the client re-initializes. */
        sessionIdleTimeout: durationMs.default(30 * 60_000),
        /** At most this many MCP sessions at once; a new one closes the longest-idle session without a call in flight. */
        maxSessions: z.number().int().min(1).default(256),
      })
      .strict()
      .default({
        host: '127.0.0.1',
        port: 7801,
        allowedHosts: [],
        allowedOrigins: [],
        sessionIdleTimeout: 30 * 60_000,
        maxSessions: 256,
      }),
    /** How `doom-ops serve` runs tool calls from Slack, MCP, the watcher and the scheduler. */
    serve: z
      .object({
        /**
         * Tool runs at once (a bounded worker pool; acks and /healthz never wait behind it). The
         * default suits 2 cores: most of a run is waiting on the engine, the rest is JSON parsing.
         */
        workers: z.number().int().min(1).max(256).default(4),
        /** Calls waiting for a worker at most; one more is refused as busy. */
        queue: z.number().int().min(0).max(100_000).default(1000),
        /**
         * Keep each container's inspect in memory while an engine event stream for the project is
         * connected, dropped on the container's next event (any action, health probes included).
         */
        stateCache: z.boolean().default(true),
      })
      .strict()
      .default({ workers: 4, queue: 1000, stateCache: true }),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ExpectedService = z.output<typeof expectedService>;
export type DeepCheck = z.output<typeof deepCheck>;
export type Role = (typeof ROLES)[number];
export type ScaledService = z.output<typeof scaledService>;
export type ExecStep = z.output<typeof execStep>;
