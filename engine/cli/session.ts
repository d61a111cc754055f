import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '../alert.js';
import { FileDeadLetter } from '../deadLetter.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { defaultRegistry } from '../nodes.js';
import { compile, type LogicalGraph } from '../pipeline/compile.js';
import type { PipelineDefinition } from '../pipeline/definition.js';
import { loadDefinition } from '../pipeline/load.js';
import { graphUsesStore, runPipeline } from '../runtime.js';
import type { RunStatus } from '../runStatus.js';
import type { StateStore } from '../state.js';
import { startProgress } from './progress.js';

export interface SessionOptions {
  pipeline: string;
  /** The pipeline already compiled (from `pipeline`); it is compiled here when absent. */
  graph?: LogicalGraph;
  /** Counters to fill (e.g. the ones a metrics endpoint serves); fresh ones when absent. */
  metrics?: Metrics;
  /** Kept up to date with the run's phase, sources and state store, for readiness probes. */
  status?: RunStatus;
  /** Changes to the definition before it is compiled (replay swaps the source, --out the sink). */
  edit?: (def: PipelineDefinition) => void;
  /**
   * DuckDB state file. When absent, a temporary one, removed afterwards, and only for a
   * graph with a node that uses the store (NodeSpec.usesStore): a pass-through replay
   * opens none.
   */
  state?: string;
  /** Most memory the state store may hold ("512MB"); DuckDB's default (80% of RAM) when absent. */
  stateMemory?: string;
  deadLetter: string;
  log: Logger;
  signal?: AbortSignal;
  /** Aborted with `signal`: stop without the final flush and checkpoint (see RunInputs.abandon). */
  abandon?: AbortSignal;
  progress?: boolean;
  onAlert?: (alert: Alert) => void;
  checkpointEvery?: number;
}

export interface SessionResult {
  graph: LogicalGraph;
  metrics: Metrics;
  elapsedMs: number;
  samplesRead: number;
  seriesSeen: number;
}

/** Loads and compiles a definition; every problem is reported at once (ConfigError). */
export async function compileFile(path: string, edit?: (def: PipelineDefinition) => void): Promise<LogicalGraph> {
  const { definition, file } = await loadDefinition(path);
  if (edit && definition && typeof definition === 'object') edit(definition as PipelineDefinition);
  return compile(definition, defaultRegistry(), file);
}

/** One run of a pipeline file from start to finish, with its state store and dead letters. */
export async function runSession(opts: SessionOptions): Promise<SessionResult> {
  const graph = opts.graph ?? await compileFile(opts.pipeline, opts.edit);
  const metrics = opts.metrics ?? new Metrics();
  const status = opts.status;
  const deadLetter = new FileDeadLetter(metrics, opts.deadLetter);
  const registry = defaultRegistry();
  const wantsStore = opts.state !== undefined || graphUsesStore(graph.nodes, registry);
  const tempDir = opts.state || !wantsStore ? null : mkdtempSync(join(tmpdir(), 'resin-'));
  let store: StateStore | null = null;
  const sources = graph.nodes.filter((n) => n.kind === 'source').map((n) => n.id);
  const stopProgress = opts.progress ? startProgress(metrics, sources) : () => {};
  try {
    if (wantsStore) {
      if (status) status.step = 'opening the state store';
      // Loaded only when used: DuckDB's bindings cost a command that opens no store ~0.15 s of start-up.
      const { DuckDbStore } = await import('../../connectors/duckdb/store.js');
      store = await DuckDbStore.open(opts.state ?? join(tempDir!, 'state.duckdb'), {
        memoryLimit: opts.stateMemory, checkpointOnClose: opts.state !== undefined,
      });
    }
    // A run that needs no store is never waiting for one.
    if (status) status.storeOpen = true;
    const result = await runPipeline({
      nodes: graph.nodes, specs: registry, metrics, deadLetter, log: opts.log, store: store ?? undefined,
      signal: opts.signal, abandon: opts.abandon, onAlert: opts.onAlert, checkpointEvery: opts.checkpointEvery, status,
      // A temporary state file is removed after the run: its final checkpoint would be read by nobody.
      finalCheckpoint: opts.state !== undefined,
    });
    const samplesRead = sources.reduce((s, id) => s + metrics.total('rows_out', { node: id }), 0);
    return { graph, metrics, elapsedMs: result.elapsedMs, samplesRead, seriesSeen: result.catalog.size };
  } finally {
    stopProgress();
    if (status) {
      status.storeOpen = false;
      status.step = 'closing the dead-letter file and the state store';
    }
    await deadLetter.close();
    await store?.close();
    if (status) status.step = 'closed';
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}
