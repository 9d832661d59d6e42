/**
 * The storage baseline: raw RocksDB through the same binding and the same `RocksStore` ProgressDB
 * uses, in its own process, with nothing above it: synced batches of puts, range reads of the last
 * 50 keys, and long range scans. What the disk and the binding can do on this machine, beside what
 * ProgressDB does with them. `node --import tsx bench/rocksdb-baseline.ts`, driven over IPC.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Family, keys, RocksStore, type BatchOp } from '../src/storage/index.js';
import { LatencyHistogram } from './latency-histogram.js';

/** Parent → child: what to measure. */
export interface RocksBaselineTask {
  /** Measured time per figure, ms. */
  durationMs: number;
  /** fsync every batch (`sync` durability) or not (`os`). */
  sync: boolean;
  /** Bytes of each value (a stored event is about the body plus ~100 bytes). */
  valueBytes: number;
  batchSize: number;
  /** Keys in the range-read prefix (the pre-filled thread of `ListMessages`). */
  listKeys: number;
  pageSize: number;
  /** Keys scanned by the replay figure (the thread a catch-up tail replays). */
  scanKeys: number;
}

/** One raw figure. */
export interface RocksBaselineFigure {
  name: 'batch' | 'single' | 'range' | 'scan';
  /** Operations per second: puts for writes, pages for range reads, rows for scans. */
  rate: number;
  /** Batches, pages or scans per second. */
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  windowMs: number;
  cpuMs: number;
}

function timed(
  durationMs: number,
  operation: () => number,
): { ops: number; calls: number; histogram: LatencyHistogram; windowMs: number; cpuMs: number } {
  const histogram = new LatencyHistogram();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let ops = 0;
  let calls = 0;
  for (;;) {
    const before = performance.now();
    ops += operation();
    calls += 1;
    const now = performance.now();
    histogram.record((now - before) * 1000);
    if (now - started >= durationMs) break;
  }
  const spent = process.cpuUsage(cpu);
  return {
    ops,
    calls,
    histogram,
    windowMs: performance.now() - started,
    cpuMs: (spent.user + spent.system) / 1000,
  };
}

function figure(
  name: RocksBaselineFigure['name'],
  run: ReturnType<typeof timed>,
): RocksBaselineFigure {
  return {
    name,
    rate: (run.ops * 1000) / run.windowMs,
    callsPerSec: (run.calls * 1000) / run.windowMs,
    p50Us: run.histogram.percentile(50),
    p99Us: run.histogram.percentile(99),
    windowMs: run.windowMs,
    cpuMs: run.cpuMs,
  };
}

async function measure(task: RocksBaselineTask): Promise<RocksBaselineFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'progressdb-bench-rocksdb-'));
  const store = await RocksStore.open(dir);
  try {
    const value = Buffer.alloc(task.valueBytes, 0x61);
    const revisions = new Map<bigint, bigint>();
    const nextKey = (thread: bigint): Buffer => {
      const revision = (revisions.get(thread) ?? 0n) + 1n;
      revisions.set(thread, revision);
      return keys.eventKey(thread, revision);
    };
    const puts = (count: number): BatchOp[] =>
      Array.from({ length: count }, () => ({
        type: 'put' as const,
        family: Family.events,
        key: nextKey(BigInt(1 + Math.floor(Math.random() * 1000))),
        value,
      }));
    const figures: RocksBaselineFigure[] = [];
    figures.push(
      figure(
        'batch',
        timed(task.durationMs, () => {
          store.write(puts(task.batchSize), task.sync);
          return task.batchSize;
        }),
      ),
    );
    figures.push(
      figure(
        'single',
        timed(task.durationMs, () => {
          store.write(puts(1), task.sync);
          return 1;
        }),
      ),
    );
    const listThread = 100_000n;
    const fill = Math.max(task.listKeys, task.scanKeys);
    for (let written = 0; written < fill; written += 1000) {
      const ops: BatchOp[] = [];
      for (let i = 0; i < 1000 && written + i < fill; i++) {
        ops.push({ type: 'put', family: Family.events, key: nextKey(listThread), value });
      }
      store.write(ops, false);
    }
    let pages = 0;
    figures.push(
      figure(
        'range',
        timed(task.durationMs, () => {
          const before =
            pages++ % 2 === 0
              ? undefined
              : BigInt(
                  task.pageSize + 2 + Math.floor(Math.random() * (task.listKeys - task.pageSize)),
                );
          const rows = store.scan(Family.events, {
            ...keys.threadRange(listThread, 1n, before),
            reverse: true,
            limit: task.pageSize,
          });
          return rows.length === task.pageSize ? 1 : 0;
        }),
      ),
    );
    figures.push(
      figure(
        'scan',
        timed(task.durationMs, () => {
          let rows = 0;
          for (let after = 0n; ;) {
            const chunk = store.scan(Family.events, {
              ...keys.threadRange(listThread, after + 1n),
              limit: 512,
            });
            rows += chunk.length;
            if (chunk.length < 512) break;
            after = keys.decodeThreadRevisionKey(chunk[chunk.length - 1]!.key).revision;
            if (rows >= task.scanKeys) break;
          }
          return rows;
        }),
      ),
    );
    return figures;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

process.once('message', (task: RocksBaselineTask) => {
  measure(task).then(
    (figures) =>
      process.send?.({ type: 'figures', figures }, undefined, undefined, () => process.exit(0)),
    (err: unknown) =>
      process.send?.({ type: 'failure', message: String(err) }, undefined, undefined, () =>
        process.exit(1),
      ),
  );
});
