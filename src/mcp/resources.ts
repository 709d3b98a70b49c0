import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AnyTool } from '../tools/define-tool.js';
import { invokeTool } from '../tools/invoke.js';
import { recentIncidents } from '../tools/recent-incidents.js';
import { stackHealth } from '../tools/stack-health.js';
import { type McpDeps, toolContext } from './server.js';
import { visibleTools } from './visible.js';

const json = (uri: URL, value: unknown) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
});

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
    async (uri, extra) => json(uri, await invokeTool(stackHealth, toolContext(deps, extra.signal), {})),
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
    async (uri, extra) => json(uri, await invokeTool(recentIncidents, toolContext(deps, extra.signal), {})),
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
}
