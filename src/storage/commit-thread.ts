import { parentPort, workerData } from 'node:worker_threads';
import { RocksLevel, type ColumnHandle } from '@nxtedition/rocksdb';
import { ALL_FAMILIES } from './column-families.js';
import { unpackBatch } from './batch-packing.js';
import type { CommitReply, CommitRequest, CommitThreadData } from './commit-worker.js';

// The commit thread: writes packed batches (and fsyncs them) to the database the main thread opened,
// through its shared native handle, so the event loop never blocks on the disk. It must never
// close the database: the main thread owns it.
const { handle, signal: shared } = workerData as CommitThreadData;
const signal = new BigInt64Array(shared);
const db = new RocksLevel(handle);
const columns: Record<string, Record<string, unknown>> = {};
for (const family of ALL_FAMILIES) columns[family] = {};
await db.open({ columns });
const handles = ALL_FAMILIES.map((family) => db.columns[family] as ColumnHandle);

parentPort?.on('message', (request: CommitRequest) => {
  let reply: CommitReply;
  const batch = db._chainedBatch();
  try {
    for (const op of unpackBatch(request.packed)) {
      const column = handles[ALL_FAMILIES.indexOf(op.family)] as ColumnHandle;
      if (op.type === 'put') batch._put(op.key, op.value, { column });
      else batch._del(op.key, { column });
    }
    const started = process.hrtime.bigint();
    batch._writeSync({ sync: request.sync });
    const micros = (process.hrtime.bigint() - started) / 1000n;
    Atomics.store(signal, 1, micros);
    Atomics.store(signal, 0, BigInt(request.id + 1));
    reply = { id: request.id, writeMicros: Number(micros) };
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  } finally {
    batch._closeSync();
  }
  parentPort?.postMessage(reply);
});
parentPort?.postMessage({ id: -1, writeMicros: 0 } satisfies CommitReply);
