/** Median, interquartile range and range of a set of values (timings, ratios). */
export interface Summary {
  readonly median: number;
  /** First and third quartiles: the middle half of the values lies between them. */
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error("no samples to summarize");
  if (samples.some((s) => !Number.isFinite(s))) {
    throw new Error(`cannot summarize a value that is not a finite number: ${samples.join(", ")}`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: percentile(sorted, 50),
    q1: percentile(sorted, 25),
    q3: percentile(sorted, 75),
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
    samples,
  };
}

/** The median of `samples` (the mean of the two middle values when their count is even). */
export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}

/** The interquartile range, `q3 - q1`: how far apart the middle half of the values lies. */
export function interquartileRange(samples: readonly number[]): number {
  const s = summarize(samples);
  return s.q3 - s.q1;
}

/**
 * The p-th percentile of ascending `sorted`, interpolated linearly between the closest ranks
 * (the definition of R's default `quantile` type 7, and of NumPy's and spreadsheets' defaults).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

/**
 * One repetition of a comparison: the tool's time and its floor's, measured beside it — in the
 * same repetition, adjacent in time — so that what the machine was doing at that moment weighs on
 * both alike and cancels in their ratio.
 */
export interface Pair {
  readonly tool: number;
  readonly floor: number;
}

/** The tool's time over the floor's, repetition by repetition. */
export function pairedRatios(pairs: readonly Pair[]): number[] {
  return pairs.map(({ tool, floor }) => {
    if (!(floor > 0)) throw new Error(`a paired ratio needs a positive floor time, got ${floor}`);
    return tool / floor;
  });
}

/** What the tool took over the floor per migration, repetition by repetition, for `n` migrations. */
export function pairedDeltas(pairs: readonly Pair[], n: number): number[] {
  if (!(n > 0)) throw new Error(`a per-migration difference needs n > 0, got ${n}`);
  return pairs.map(({ tool, floor }) => (tool - floor) / n);
}

/** Milliseconds `work` took, on the monotonic clock. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** How a time grows with size: t ∝ n^exponent between two sizes (1 is linear). */
export function growthExponent(n1: number, t1: number, n2: number, t2: number): number {
  return Math.log(t2 / t1) / Math.log(n2 / n1);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
