import type { Metrics } from '../metrics.js';
import { int, rate } from './format.js';

/**
 * A one-line progress display on stderr for long runs, redrawn in place. Only when
 * stderr is a terminal: piped output and CI logs stay clean.
 */
export function startProgress(metrics: Metrics, sourceIds: readonly string[], stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  const started = performance.now();
  const draw = () => {
    const read = sourceIds.reduce((s, id) => s + metrics.total('rows_out', { node: id }), 0);
    const secs = (performance.now() - started) / 1000;
    const line = `  ${int(read)} samples  ${rate(read / Math.max(secs, 1e-3))}/s  rejected ${int(metrics.total('samples_rejected'))}`
      + `  alerts ${int(metrics.total('alerts'))}  ${secs.toFixed(0)} s`;
    stream.write(`\r${line}\x1b[K`);
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write('\r\x1b[K');
  };
}
