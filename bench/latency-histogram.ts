/** Sub-buckets per power of two: values are kept to within 1/64 (~1.6 %). */
const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
/** Values below this are counted exactly. */
const LINEAR_LIMIT = SUB_BUCKETS * 2;

/** A histogram's counts as plain data, to send between processes: `[bucket, count]` pairs. */
export type HistogramSnapshot = [bucket: number, count: number][];

/**
 * A log-linear histogram of latencies in microseconds (like HdrHistogram, without the dependency):
 * each worker records into one, the parent merges them and reads percentiles.
 */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;

  /** Records one latency, in microseconds. */
  record(latencyUs: number): void {
    const bucket = bucketOf(Math.max(0, Math.round(latencyUs)));
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total += 1;
  }

  /** The number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** Adds another histogram's counts to this one. */
  merge(snapshot: HistogramSnapshot): void {
    for (const [bucket, count] of snapshot) {
      this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
      this.total += count;
    }
  }

  /** The counts as plain data. */
  snapshot(): HistogramSnapshot {
    return [...this.counts.entries()];
  }

  /** The value (µs) at or below which `percent` % of the recorded values fall; 0 when empty. */
  percentile(percent: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.total));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      if (seen >= rank) return valueOf(bucket);
    }
    return 0;
  }
}

function bucketOf(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const exponent = Math.floor(Math.log2(value));
  const shift = exponent - SUB_BUCKET_BITS;
  const sub = Math.floor(value / 2 ** shift) - SUB_BUCKETS;
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + sub;
}

/** The middle of a bucket's range. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const offset = bucket - LINEAR_LIMIT;
  const shift = Math.floor(offset / SUB_BUCKETS) + 1;
  const sub = (offset % SUB_BUCKETS) + SUB_BUCKETS;
  return Math.round(sub * 2 ** shift + 2 ** (shift - 1));
}
