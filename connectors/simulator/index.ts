export { FleetSimulator } from './simulator.js';
export { simulatorSource, simulatorSpec } from './source.js';
export { writeFleetNdjson } from './ndjson.js';
export { resolveOptions, SIMULATOR_OPTIONS_SCHEMA, MAX_DELAY_MS } from './options.js';
export { buildTruth, writeTruth, TRUTH_FORMAT } from './truth.js';
export { COMPONENT_PROFILES } from './components.js';

export type { SimulatedBatch } from './simulator.js';
export type { NdjsonResult } from './ndjson.js';
export type { SimulatorOptions, ResolvedOptions } from './options.js';
export type { FleetTruth, TruthLeak, TruthBehaviour, BehaviourKind, TruthParams } from './truth.js';
export type { FleetPlan, LeakPattern } from './fleet.js';
export type { ComponentProfile } from './components.js';
export type { FleetStream } from './generator.js';
export type { RowBuffers } from './rows.js';
