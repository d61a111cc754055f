import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { GaussianModels, emptyParams, type ModelParams } from './gaussianModels.js';
import { grown } from './grow.js';

/** Observations a model needs before its sigma2 is trusted to call outliers. */
export const MIN_MODEL_POINTS = 30;

/**
 * Which of the level-2 Gaussians each series is judged against, and what they say at a
 * period: every series belongs to its component's model and, when its rollups carry a
 * region or cluster, to the narrower component x region x cluster model (the method's
 * "per region x cluster type"). Keys are names, not catalog ids, so that a checkpoint
 * restored under another catalog order finds the same models.
 */
export class ModelGroups {
  readonly models: GaussianModels;
  /** Per series: component model, region x cluster model (-1: none), and the attributes they were keyed by. */
  comp = new Int32Array(0);
  fineOf = new Int32Array(0);
  private keyedRegion = new Int32Array(0);
  private keyedCluster = new Int32Array(0);
  private readonly fine = emptyParams();
  private readonly coarse = emptyParams();

  constructor(window: number, cycle = 1) {
    this.models = new GaussianModels(window, cycle);
  }

  get size(): number {
    return this.models.size;
  }

  ensure(need: number): void {
    if (need <= this.comp.length) return;
    this.comp = grown(this.comp, need, -1);
    this.fineOf = grown(this.fineOf, need, -1);
    this.keyedRegion = grown(this.keyedRegion, need, -2);
    this.keyedCluster = grown(this.keyedCluster, need, -2);
  }

  /** Keys series `id` to its models, again if its region or cluster has become known; true if it was (re)keyed. */
  key(id: number, cat: SeriesCatalog): boolean {
    const region = cat.seriesRegion[id]!, cluster = cat.seriesCluster[id]!;
    if (this.keyedRegion[id] === region && this.keyedCluster[id] === cluster) return false;
    const component = cat.components.name(cat.seriesComponent[id]!);
    this.comp[id] = this.models.model(`c\u0001${component}`);
    this.fineOf[id] = region < 0 && cluster < 0 ? -1 : this.models.model(
      `r\u0001${component}\u0001${region < 0 ? '' : cat.attrs.name(region)}\u0001${cluster < 0 ? '' : cat.attrs.name(cluster)}`,
    );
    this.keyedRegion[id] = region;
    this.keyedCluster[id] = cluster;
    return true;
  }

  /** The narrowest model series `id` belongs to: its peers for growth comparisons. */
  group(id: number): number {
    return this.fineOf[id]! >= 0 ? this.fineOf[id]! : this.comp[id]!;
  }

  /**
   * The model series `id` is judged against at period p (starting at t, at `phase` of the
   * cycle): the narrowest with data enough, from its region x cluster group at this
   * phase, through its component at this phase, to either over all phases (a young fleet
   * has few points per phase). The result is reused by the next call.
   */
  params(id: number, t: number, phase: number): ModelParams {
    const f = this.fineOf[id]!, c = this.comp[id]!, m = this.models;
    if (f >= 0 && m.params(f, t, phase, this.fine).nD >= MIN_MODEL_POINTS) return this.fine;
    if (m.params(c, t, phase, this.coarse).nD >= MIN_MODEL_POINTS) return this.coarse;
    if (f >= 0 && m.params(f, t, -1, this.fine).nD >= MIN_MODEL_POINTS) return this.fine;
    if (m.params(c, t, -1, this.coarse).nD < MIN_MODEL_POINTS) {
      this.coarse.mu2 = NaN;
      this.coarse.sigma2 = NaN;
    }
    return this.coarse;
  }

  /** Point (t, u) with difference d at `phase` joins both of series `id`'s models. */
  add(id: number, t: number, u: number, d: number, phase: number): void {
    this.models.add(this.comp[id]!, t, u, d, phase);
    const f = this.fineOf[id]!;
    if (f >= 0) this.models.add(f, t, u, d, phase);
  }
}
