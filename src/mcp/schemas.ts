import { z } from 'zod';
import type { AnyTool } from '../tools/define-tool.js';

type JsonSchema = { type: 'object'; [key: string]: unknown };

const cache = new WeakMap<AnyTool, { input: JsonSchema; output: JsonSchema }>();

/**
 * JSON Schemas advertised in tools/list, generated from the tools' zod schemas (the single source
 * of truth) as the SDK's own McpServer does: draft-7, input side for inputs, output side for outputs.
 */
export function jsonSchemas(tool: AnyTool): { input: JsonSchema; output: JsonSchema } {
  let schemas = cache.get(tool);
  if (!schemas) {
    schemas = {
      input: z.toJSONSchema(tool.input, { target: 'draft-7', io: 'input' }) as JsonSchema,
      output: z.toJSONSchema(tool.output, { target: 'draft-7', io: 'output' }) as JsonSchema,
    };
    cache.set(tool, schemas);
  }
  return schemas;
}
