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
  /**
   * Model of each catalog component id (-1: none yet), and of each component's region x
   * cluster groups by their attribute ids: a series is keyed without building a name.
   */
  private byComponent = new Int32Array(0);
  private readonly fineByComponent: Map<number, number>[] = [];
  private readonly fine = emptyParams();
  private readonly coarse = emptyParams();
  /**
   * Per group (see `group`): what `params` last answered, for which (t, phase), and at
   * which `learned` count. Every process of a group gets the same answer until a model
   * learns a point, so a period's rows ask the models once per group, not once per row.
   */
  private memo: ModelParams[] = [];
  private memoT = new Float64Array(0);
  private memoPhase = new Int32Array(0);
  private memoLearned = new Float64Array(0);
  /** Points learned so far: a memo made at another count is stale. */
  private learned = 0;

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
    const c = cat.seriesComponent[id]!;
    if (c >= this.byComponent.length) this.byComponent = grown(this.byComponent, c + 1, -1);
    let comp = this.byComponent[c]!;
    if (comp < 0) comp = this.byComponent[c] = this.models.model(`c\u0001${cat.components.name(c)}`);
    this.comp[id] = comp;
    this.fineOf[id] = region < 0 && cluster < 0 ? -1 : this.fineModel(cat, c, region, cluster);
    this.keyedRegion[id] = region;
    this.keyedCluster[id] = cluster;
    return true;
  }

  /** The region x cluster model of component c (catalog ids), named once and then found by number. */
  private fineModel(cat: SeriesCatalog, c: number, region: number, cluster: number): number {
    // Exact as a number while both ids are below 2^26 (a key below 2^52); beyond, the name is looked up each time.
    const number = region + 1 < 2 ** 26 && cluster + 1 < 2 ** 26 ? (region + 1) * 2 ** 26 + (cluster + 1) : -1;
    const known = (this.fineByComponent[c] ??= new Map<number, number>());
    const m = known.get(number);
    if (m !== undefined) return m;
    const name = `${cat.components.name(c)}\u0001${region < 0 ? '' : cat.attrs.name(region)}\u0001${cluster < 0 ? '' : cat.attrs.name(cluster)}`;
    const model = this.models.model(`r\u0001${name}`);
    if (number >= 0) known.set(number, model);
    return model;
  }

  /** The narrowest model series `id` belongs to: its peers for growth comparisons. */
  group(id: number): number {
    return this.fineOf[id]! >= 0 ? this.fineOf[id]! : this.comp[id]!;
  }

  /**
   * The model series `id` is judged against at period p (starting at t, at `phase` of the
   * cycle): the narrowest with data enough, from its region x cluster group at this
   * phase, through its component at this phase, to either over all phases (a young fleet
   * has few points per phase). The answer is the same for every process of a group
   * until a model learns a point: it is worked out once per group and shared (not to be
   * changed by the caller).
   */
  params(id: number, t: number, phase: number): ModelParams {
    const g = this.group(id);
    if (g < this.memoT.length && this.memoT[g] === t && this.memoPhase[g] === phase && this.memoLearned[g] === this.learned) return this.memo[g]!;
    return this.remember(g, t, phase, this.fit(id, t, phase));
  }

  /** Keeps a copy of group g's answer at (t, phase). */
  private remember(g: number, t: number, phase: number, from: ModelParams): ModelParams {
    if (g >= this.memoT.length) {
      this.memoT = grown(this.memoT, g + 1, NaN);
      this.memoPhase = grown(this.memoPhase, g + 1);
      this.memoLearned = grown(this.memoLearned, g + 1, -1);
      while (this.memo.length < this.memoT.length) this.memo.push(emptyParams());
    }
    const out = this.memo[g]!;
    out.mu1 = from.mu1;
    out.sigma1 = from.sigma1;
    out.mu2 = from.mu2;
    out.sigma2 = from.sigma2;
    out.nU = from.nU;
    out.nD = from.nD;
    this.memoT[g] = t;
    this.memoPhase[g] = phase;
    this.memoLearned[g] = this.learned;
    return out;
  }

  /** The answer of `params`, asked of the models. */
  private fit(id: number, t: number, phase: number): ModelParams {
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

  /** Takes back the models of a checkpoint (GaussianModels.restore); every answer kept is stale. */
  restore(state: Parameters<GaussianModels['restore']>[0]): void {
    this.models.restore(state);
    // A model's index may differ in the checkpoint's order: names are looked up again.
    this.byComponent.fill(-1);
    this.fineByComponent.length = 0;
    this.learned++;
  }

  /** Point (t, u) with difference d at `phase` joins both of series `id`'s models. */
  add(id: number, t: number, u: number, d: number, phase: number): void {
    this.learned++;
    this.models.add(this.comp[id]!, t, u, d, phase);
    const f = this.fineOf[id]!;
    if (f >= 0) this.models.add(f, t, u, d, phase);
  }
}
