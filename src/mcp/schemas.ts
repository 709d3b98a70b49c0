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

const plain = new Map<string, JsonSchema>();

/** The input JSON Schema of an MCP-only tool (list_toolsets, enable_toolsets), made once. */
export function inputJsonSchema(name: string, input: z.ZodObject): JsonSchema {
  let schema = plain.get(name);
  if (!schema) {
    schema = z.toJSONSchema(input, { target: 'draft-7', io: 'input' }) as JsonSchema;
    plain.set(name, schema);
  }
  return schema;
}
