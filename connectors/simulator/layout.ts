/**
 * Layout of the per-series state read on every row. Interleaved rather than one array
 * per field: with 100k series, twenty parallel arrays are twenty streams of cache
 * misses per row; two interleaved ones are two sequential streams.
 */
export const enum F { Base, Wf, WfStep, Warm, GcOffset, GcStep, Spike, LeakAcc, LeakSlope, BufSens, NextEvt }
export const FS = 12;
export const enum I { Host, Comp, Proc, BgAt, Group, Pid, Version }
export const IS = 8;
