import type { Config } from '../config/schema.js';
import type { AnyTool } from '../tools/define-tool.js';
import { registry as defaultRegistry } from '../tools/registry.js';

/** The tools this server offers: all of them, or only read tools in read-only mode. */
export function visibleTools(config: Config, registry: readonly AnyTool[] = defaultRegistry): AnyTool[] {
  return registry.filter((t) => !config.readOnly || t.risk === 'read');
}
