import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import { formatNumber, plainRow, type ResultRow } from './bench-report.js';
import { bodyJsonBytes } from './request-payloads.js';
import type { RocksBaselineFigure, RocksBaselineTask } from './rocksdb-baseline.js';

/** What each raw figure is the baseline of, and how it is named in the table. */
const SHAPES: Record<RocksBaselineFigure['name'], { key: string; scenario: string; unit: string }> =
  {
    batch: { key: 'batch', scenario: 'raw batch of 100 puts', unit: 'puts/s' },
    single: { key: 'single-put', scenario: 'raw batch of 1 put', unit: 'puts/s' },
    range: { key: 'list', scenario: 'raw range read, last 50', unit: 'pages/s' },
    scan: { key: 'catchup-1', scenario: 'raw range scan, chunks of 512', unit: 'rows/s' },
  };

/**
 * Measures raw RocksDB in a child process (`rocksdb-baseline.ts`) for one durability mode: synced
 * (or not) batches of 100 and of 1 put, last-50 range reads, and long scans.
 */
export async function measureRocksDb(
  config: BenchConfig,
  benchDir: string,
  durability: string,
  cores: number,
): Promise<ResultRow[]> {
  process.stdout.write(`  raw RocksDB (${durability}) ... `);
  const child = fork(join(benchDir, 'rocksdb-baseline.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const task: RocksBaselineTask = {
    durationMs: Math.max(1000, Math.round(config.durationMs / 2)),
    sync: durability === 'sync',
    valueBytes: bodyJsonBytes(config.bodyBytes) + 100,
    batchSize: config.batchSize,
    listKeys: config.listPrefill,
    pageSize: config.pageSize,
    scanKeys: config.catchupEvents,
  };
  const figures = await new Promise<RocksBaselineFigure[]>((resolve, reject) => {
    child.once(
      'message',
      (
        message:
          | { type: 'figures'; figures: RocksBaselineFigure[] }
          | { type: 'failure'; message: string },
      ) =>
        message.type === 'figures' ? resolve(message.figures) : reject(new Error(message.message)),
    );
    child.once('exit', (code) => reject(new Error(`the RocksDB baseline exited (${code})`)));
    child.send(task);
  });
  console.log(figures.map((f) => `${f.name} ${formatNumber(f.rate)}/s`).join(', '));
  return figures.map((figure) => {
    const shape = SHAPES[figure.name];
    return plainRow(
      {
        ...shape,
        server: 'rocksdb',
        durability,
        client: 'in-process',
        processes: 1,
        connectionsPerProcess: 0,
        concurrency: 1,
        itemsPerCall: figure.name === 'batch' ? config.batchSize : 1,
        bodyJsonBytes: bodyJsonBytes(config.bodyBytes),
      },
      {
        rate: figure.rate,
        callsPerSec: figure.callsPerSec,
        p50Ms: figure.p50Us / 1000,
        p99Ms: figure.p99Us / 1000,
        windowMs: figure.windowMs,
        serverCpuMs: figure.cpuMs,
        notes: `one JavaScript thread, ${task.valueBytes}-byte values, one put per message${
          figure.name === 'scan' ? `; ${formatNumber(config.catchupEvents)} rows per scan` : ''
        }`,
      },
      cores,
    );
  });
}
