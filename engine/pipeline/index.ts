export { compile } from './compile.js';
export { definePipeline } from './definition.js';
export { toDot, toMermaid } from './graph.js';
export { loadDefinition, parseDefinition } from './load.js';
export { checkOptions, durationSchema, resolveOptions } from './options.js';
export { Registry } from './registry.js';
export { RUN_SETTINGS_SCHEMA } from './runSettings.js';
export { closest, didYouMean, editDistance } from './suggest.js';

export type { NodeDefinition, PipelineDefinition } from './definition.js';
export type { LogicalEdge, LogicalGraph, LogicalNode, NodeKind } from './graph.js';
export type { LoadedDefinition } from './load.js';
export type { CheckedOptions } from './options.js';
export type { RunSettings } from './runSettings.js';
