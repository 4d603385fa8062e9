/** Least-squares slope of the last `w` values against their index (loss per evaluation). */
export function slope(values: readonly number[], w: number): number | null {
  if (values.length < w) return null;
  const ys = values.slice(-w);
  const mx = (w - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / w;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  return num / den;
}

/** Each point replaced by the median of itself and its (up to two) predecessors. */
export function medianOf3(values: readonly number[]): number[] {
  return values.map((_, i) => {
    const w = values.slice(Math.max(0, i - 2), i + 1).sort((a, b) => a - b);
    return w.length === 2 ? Math.min(...w) : w[Math.floor(w.length / 2)];
  });
}

/**
 * Relative point noise of a curve's recent part: the root mean square of its second
 * differences over the last 8 points (a linear trend cancels out; white noise of standard
 * deviation σ gives √6·σ), divided by √6 and by the curve's level. Null with fewer than
 * 4 points.
 */
export function relativeNoise(values: readonly number[]): number | null {
  if (values.length < 4) return null;
  const v = values.slice(-8);
  let sum = 0;
  for (let i = 1; i < v.length - 1; i++) sum += (v[i + 1] - 2 * v[i] + v[i - 1]) ** 2;
  const sd = Math.sqrt(sum / (v.length - 2) / 6);
  const level = v.slice(-4).reduce((a, b) => a + b, 0) / 4;
  return level > 0 ? sd / level : null;
}
