import type { BenchConfig } from './bench-config.js';
import type { ResultRow, ServerKind, TargetCheck } from './bench-report.js';

/** PostgreSQL's durable single-row inserts on this machine as DESIGN.md measured them. */
const DESIGN_POSTGRES_INSERTS = 12_400;

/** The DESIGN.md target of each row key, as text for the table. */
const TARGET_TEXT: Record<string, string> = {
  append: '>= 0.6 x echo, >= 1.25 x PG',
  batch: '>= 100k msg/s',
  list: '>= 6k pages/s',
  'tail-latency-10': 'p99 <= 1 ms',
  'tail-latency-100': 'p99 <= 5 ms',
  fanout: '>= 150k/s',
  memory: '<= 300 MB (1M msgs)',
};

/** The baseline server of each row key (the first one measured in the run wins). */
function baselineServers(key: string): ServerKind[] {
  if (key === 'append') return ['echo'];
  if (key === 'batch' || key === 'list' || key === 'single-put') return ['rocksdb'];
  if (key.startsWith('catchup')) return ['stream-echo', 'rocksdb'];
  return ['stream-echo'];
}

/**
 * Fills in, for every ProgressDB row, its baseline of the same key (same durability where the
 * baseline has one), the ratio to it, the ratio to PostgreSQL, and the target text.
 */
export function compare(rows: ResultRow[]): void {
  for (const row of rows) {
    if (row.server !== 'progressdb') continue;
    const same = (server: ServerKind) =>
      rows.find(
        (r) =>
          r.key === row.key &&
          r.server === server &&
          (r.durability === '-' || r.durability === row.durability),
      );
    const baseline = baselineServers(row.key)
      .map(same)
      .find((r) => r !== undefined);
    if (baseline && baseline.rate > 0) {
      row.baseline = { server: baseline.server, rate: baseline.rate, unit: baseline.unit };
      row.ratio = row.rate / baseline.rate;
    }
    // PostgreSQL runs durable (fsync on): it is the comparison for both modes.
    const postgres = rows.find((r) => r.key === row.key && r.server === 'postgres');
    if (postgres && postgres.rate > 0) row.vsPostgres = row.rate / postgres.rate;
    row.target =
      TARGET_TEXT[row.key] ?? (row.key.startsWith('catchup') ? '>= 100k/s per tail' : undefined);
  }
}

/** Checks the DESIGN.md targets against the ProgressDB rows of this run, per durability mode. */
export function checkTargets(rows: ResultRow[], config: BenchConfig): TargetCheck[] {
  const find = (key: string, server: ServerKind, durability: string) =>
    rows.find(
      (r) =>
        r.key === key &&
        r.server === server &&
        (r.durability === durability || r.durability === '-'),
    );
  return config.durabilities.flatMap((durability) => {
    const ours = (key: string) => find(key, 'progressdb', durability);
    const atLeast = (name: string, value: number | undefined, target: number): TargetCheck => ({
      name: `${name} [${durability}]`,
      value,
      target,
      comparison: '>=',
      met: value === undefined ? undefined : value >= target,
    });
    const atMost = (name: string, value: number | undefined, target: number): TargetCheck => ({
      name: `${name} [${durability}]`,
      value,
      target,
      comparison: '<=',
      met: value === undefined ? undefined : value <= target,
    });
    const append = ours('append');
    const postgresInserts = find('append', 'postgres', 'sync');
    return [
      atLeast('AppendMessage / echo ratio', append?.ratio, 0.6),
      postgresInserts
        ? atLeast('AppendMessage / PostgreSQL inserts (this run)', append?.vsPostgres, 1.25)
        : atLeast(
            'AppendMessage calls/s (1.25 x PostgreSQL of DESIGN.md)',
            append?.rate,
            1.25 * DESIGN_POSTGRES_INSERTS,
          ),
      atLeast('AppendMessages messages/s', ours('batch')?.rate, 100_000),
      atLeast('ListMessages pages/s', ours('list')?.rate, 6_000),
      atMost('tail delivery p99 ms, 10 tails', ours('tail-latency-10')?.p99Ms, 1),
      atMost('tail delivery p99 ms, 100 tails', ours('tail-latency-100')?.p99Ms, 5),
      atLeast('fan-out deliveries/s, 1,000 tails', ours('fanout')?.rate, 150_000),
      atLeast('catch-up events/s per tail (1 tail)', ours('catchup-1')?.rate, 100_000),
      atMost('resident memory MB, 1,000 tails', ours('memory')?.rate, 300),
    ].filter((check) => check.value !== undefined || durability === config.durabilities[0]);
  });
}
