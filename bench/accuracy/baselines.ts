import { mannKendall } from '../baselines/mannKendall.js';
import { predictLinear } from '../baselines/predictLinear.js';
import { staticThreshold } from '../baselines/staticThreshold.js';
import type { BaselineFn } from './hourly.js';

/** The baselines the engine is compared with, each at its documented defaults. */
export const BASELINES: readonly { name: string; fn: BaselineFn }[] = [
  { name: 'static', fn: (ts, rss) => staticThreshold(ts, rss) },
  { name: 'predict_linear', fn: (ts, rss) => predictLinear(ts, rss) },
  { name: 'mann_kendall', fn: (ts, rss) => mannKendall(ts, rss) },
];
