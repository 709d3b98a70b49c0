import type { Config } from '../config/schema.js';
import type { AnyTool } from '../tools/define-tool.js';
import { registry as defaultRegistry } from '../tools/registry.js';
import type { ToolsetSelection } from './toolsets.js';

/**
 * The tools this server lists: all of them, or only read tools in read-only mode; with a toolset
 * selection, only those of its enabled toolsets.
 */
export function visibleTools(
  config: Config,
  registry: readonly AnyTool[] = defaultRegistry,
  selection?: ToolsetSelection,
): AnyTool[] {
  return registry.filter(
    (t) => (!config.readOnly || t.risk === 'read') && (!selection || selection.shows(t)),
  );
}
