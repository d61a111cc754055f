import type { DiagnosisReport } from '../../../engine/diagnosis.js';

/**
 * The machine-readable report: the DiagnosisReport itself, field for field, as
 * docs/diagnosis.md documents it (stacks most suspect first, frames innermost first).
 */
export function renderJson(r: DiagnosisReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
