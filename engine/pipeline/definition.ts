import type { RunSettings } from './runSettings.js';

/**
 * The shape of a pipeline definition as an author writes it, in YAML or in code.
 * `compile` accepts anything (`unknown`) and checks it against this shape; these types
 * only help authors who build definitions in TypeScript.
 */
export interface NodeDefinition {
  /** A registered node type, e.g. `bucketize`. */
  type: string;
  /** Ids of the nodes whose output this node consumes; none for a source. */
  inputs?: string[];
  /** Checked against the type's options schema; omitted options take its defaults. */
  options?: Record<string, unknown>;
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  /** Node id -> node; ids are what `inputs`, metrics, logs and dead letters name. */
  nodes: Record<string, NodeDefinition>;
  /** How `resin run` runs it; environment variables and flags override each field. */
  run?: RunSettings;
}

/** Types a definition written in code; checking happens in `compile`, as for YAML. */
export function definePipeline(def: PipelineDefinition): PipelineDefinition {
  return def;
}
