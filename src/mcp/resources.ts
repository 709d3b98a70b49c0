import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { isToolError, newErrorRef } from '../errors.js';
import { renderText } from '../render/text.js';
import type { AnyTool } from '../tools/define-tool.js';
import { recentIncidents } from '../tools/health/recent-incidents.js';
import { stackHealth } from '../tools/health/stack-health.js';
import { invokeTool } from '../tools/invoke.js';
import { serviceLogs } from '../tools/logs/service-logs.js';
import { completeService } from './completions.js';
import { type McpDeps, toolContext } from './context.js';
import { jsonSchemas } from './schemas.js';
import { visibleTools } from './visible.js';

const json = (uri: URL, value: unknown) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
});

function oneVariable(variables: Record<string, string | string[]>, name: string): string {
  const v = variables[name];
  try {
    return decodeURIComponent((Array.isArray(v) ? v[0] : v) ?? '');
  } catch {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `the ${name} in this URI is not valid percent-encoding`,
    );
  }
}

/**
 * A template read as the protocol wants its errors: what the caller got wrong (bad or unknown
 * service, bad encoding) is -32602 Invalid params with the URI; an unexpected failure is logged
 * and named by a reference id only.
 */
async function reading<T>(uri: URL, deps: McpDeps, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    if (isToolError(err) && ['invalid_input', 'not_found'].includes(err.code))
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message, { uri: uri.href });
    if (isToolError(err)) throw new ProtocolError(ProtocolErrorCode.InternalError, err.message);
    const ref = newErrorRef();
    deps.logger.error({ err, ref, uri: uri.href }, 'internal error in resource read');
    throw new ProtocolError(ProtocolErrorCode.InternalError, `internal error (ref ${ref})`);
  }
}

/** Context a model can pull in without a tool call; generated from config and the registry. */
export function registerResources(mcp: McpServer, deps: McpDeps, registry: readonly AnyTool[]): void {
  mcp.registerResource(
    'expected-services',
    'doom-ops://stack/services',
    {
      title: 'Expected services',
      description:
        'The services this stack is expected to run, with criticality, start period and deep checks',
      mimeType: 'application/json',
    },
    (uri) => json(uri, { project: deps.config.project, services: deps.config.services }),
  );

  mcp.registerResource(
    'stack-health',
    'doom-ops://stack/health',
    {
      title: 'Current stack health',
      description: 'A fresh stack_health result (same as calling the tool with defaults)',
      mimeType: 'application/json',
    },
    async (uri, ctx) => json(uri, await invokeTool(stackHealth, toolContext(deps, ctx.mcpReq.signal), {})),
  );

  mcp.registerResource(
    'recent-incidents',
    'doom-ops://stack/incidents',
    {
      title: 'Recent incidents',
      description:
        'What the incident watcher saw lately (OOM kills, restart loops, unhealthy or missing services, full disks): same as recent_incidents',
      mimeType: 'application/json',
    },
    async (uri, ctx) =>
      json(uri, await invokeTool(recentIncidents, toolContext(deps, ctx.mcpReq.signal), {})),
  );

  mcp.registerResource(
    'tool-catalog',
    'doom-ops://tools',
    {
      title: 'Tool catalog',
      description: 'Every tool this server offers with its risk level (read, write, destructive)',
      mimeType: 'application/json',
    },
    (uri) =>
      json(
        uri,
        visibleTools(deps.config, registry).map((t) => ({
          name: t.name,
          title: t.title,
          risk: t.risk,
          description: t.description,
        })),
      ),
  );

  // What --output-schemas would advertise, one tool at a time, for programmatic clients.
  mcp.registerResource(
    'tool-output-schema',
    new ResourceTemplate('doom-ops://tools/{tool}/output-schema', {
      list: undefined,
      complete: {
        tool: (value: string) =>
          visibleTools(deps.config, registry)
            .map((t) => t.name)
            .filter((n) => n.startsWith(value))
            .slice(0, 100),
      },
    }),
    {
      title: "A tool's output schema",
      description: 'The JSON Schema (draft-7) that structuredContent of this tool always matches',
      mimeType: 'application/schema+json',
    },
    (uri, variables) => {
      const name = oneVariable(variables, 'tool');
      // Read-only mode hides non-read tools here as in tools/list.
      const tool = visibleTools(deps.config, registry).find((t) => t.name === name);
      if (!tool)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `no tool ${name}`, { uri: uri.href });
      return json(uri, jsonSchemas(tool).output);
    },
  );

  // One service at a time: cheaper for a model than the whole stack, and completable.
  const completeServiceVar = {
    service: (value: string) => completeService(toolContext(deps, AbortSignal.timeout(5000)), value),
  };
  const oneService = (variables: Record<string, string | string[]>): string =>
    oneVariable(variables, 'service');
  mcp.registerResource(
    'service-health',
    new ResourceTemplate('doom-ops://services/{service}/health', {
      list: undefined,
      complete: completeServiceVar,
    }),
    {
      title: "One service's health",
      description: 'stack_health for one service (JSON): status, restarts, OOM kills, last exit and why',
      mimeType: 'application/json',
    },
    (uri, variables, ctx) =>
      reading(uri, deps, async () =>
        json(
          uri,
          await invokeTool(stackHealth, toolContext(deps, ctx.mcpReq.signal), {
            service: oneService(variables),
          }),
        ),
      ),
  );
  mcp.registerResource(
    'service-logs',
    new ResourceTemplate('doom-ops://services/{service}/logs', {
      list: undefined,
      complete: completeServiceVar,
    }),
    {
      title: "One service's recent logs",
      description:
        'The last 100 log lines of one service, all replicas merged by time (text; secrets redacted). For a window or a level, call service_logs',
      mimeType: 'text/plain',
    },
    (uri, variables, ctx) =>
      reading(uri, deps, async () => {
        const output = await invokeTool(serviceLogs, toolContext(deps, ctx.mcpReq.signal), {
          service: oneService(variables),
          tail: 100,
        });
        return {
          contents: [{ uri: uri.href, mimeType: 'text/plain', text: renderText('service_logs', output) }],
        };
      }),
  );
}
