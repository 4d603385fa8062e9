/**
 * Seeded pseudo-random numbers. Everything random in a trial (data order, initial weights,
 * dropout masks) derives from the trial's seed through these, so a trial draws the same
 * numbers whether it trains alone or beside other adapters.
 */

/** 32-bit string/number hash (FNV-1a) used to derive sub-seeds. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = String(part);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x2f; // separator, so ("ab","c") and ("a","bc") differ
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for shuffles and initialisation. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** An independent generator at this one's position. */
  clone(): Rng {
    const r = new Rng(0);
    r.state = this.state;
    return r;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
  /**
   * Near-normal values with standard deviation `sd`, one draw each: the centred sum of the four
   * bytes of the draw's 32 bits (Irwin–Hall; the sum's sd is √(4·(256² − 1)/12) ≈ 147.8), a
   * third of Box–Muller's time. `fast`, when given, fills the same values from the generator's
   * state before the first draw (draw i depends on the state and i alone, so e.g. native
   * threads can split the work), and the generator skips past them.
   */
  fillNearNormal(out: Float32Array, sd: number, fast?: (out: Float32Array, state: number, scale: number) => void): Float32Array {
    const scale = sd / 147.8;
    if (fast) {
      fast(out, this.state, scale);
      this.state = (this.state + Math.imul(out.length, 0x6d2b79f5)) >>> 0;
      return out;
    }
    for (let i = 0; i < out.length; i++) {
      const u = (this.next() * 4294967296) >>> 0;
      out[i] = ((u & 255) + ((u >>> 8) & 255) + ((u >>> 16) & 255) + (u >>> 24) - 510) * scale;
    }
    return out;
  }
  /**
   * Takes the next n draws' starting state and moves past them, for a generator elsewhere
   * (a device kernel) that computes draw i from that state alone, as `fast` does.
   */
  take(n: number): number {
    const state = this.state;
    this.state = (this.state + Math.imul(n, 0x6d2b79f5)) >>> 0;
    return state;
  }

  /** Uniform in [lo, hi), one draw each; `fast` as in fillNearNormal (the same values from the state). */
  fillUniform(out: Float32Array, lo: number, hi: number, fast?: (out: Float32Array, state: number, lo: number, hi: number) => void): Float32Array {
    if (fast) {
      fast(out, this.state, lo, hi);
      this.state = (this.state + Math.imul(out.length, 0x6d2b79f5)) >>> 0;
      return out;
    }
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }
}
