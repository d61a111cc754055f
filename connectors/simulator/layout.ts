/**
 * Layout of the per-series state read on every row. Interleaved rather than one array
 * per field: with 100k series, twenty parallel arrays are twenty streams of cache
 * misses per row; two interleaved ones are two sequential streams.
 */
export const enum F { Base, Wf, WfStep, Warm, GcOffset, GcStep, Spike, LeakAcc, LeakSlope, BufSens, NextEvt }
export const enum I { Host, Comp, Proc, BgAt, Group, Pid, Version }

/**
 * Entries per series in the numbers (F) and integers (I) arrays. A const enum, so that
 * each module gets the literal: the row loop multiplies by it on every row, and an
 * imported binding there costs a load and a check that a constant does not.
 */
export const enum Stride { F = 12, I = 8 }
