// In-process profile of the ListMessages read path without gRPC: main-thread time per page of the
// reader (scan, decode, open) plus the wire mapping and response encoding the server does.
// Usage: tsx bench/read-profile.ts [pages=20000] [pageSize=50] [messages=5000]
// LOG_PROFILE=<file>: a CPU profile of the measured window only; PROGRESSDB_* settings apply.
import { performance } from 'node:perf_hooks';
import { toWireMessageBytes } from '../src/server/wire-mapping.js';
import { pageResponse } from '../src/server/wire-encoding.js';
import { appendMany, profiled, startInProcess, storedBody } from './in-process.js';

const [pages = 20_000, pageSize = 50, messages = 5_000] = process.argv.slice(2).map(Number);
const { app, close } = await startInProcess('readprof');
const threadId = 'read-profile';
await appendMany(app, threadId, messages, storedBody({ text: 'x'.repeat(260), n: 1 }));
// The bench's mix: the newest page, and pages before a random seq.
async function page(i: number): Promise<void> {
  const anchor =
    i % 2 === 0
      ? ({ kind: 'newest' } as const)
      : ({ kind: 'before_seq', seq: BigInt(1 + ((i * 7919) % messages)) } as const);
  const result = await app.log.reader.listMessages(threadId, pageSize, anchor, false, {
    userId: 'alice',
  });
  pageResponse(
    result.messages.map((view) => toWireMessageBytes(threadId, view, 'alice')),
    result,
  );
}
for (let i = 0; i < 2_000; i++) await page(i);
const elu0 = performance.eventLoopUtilization();
const t0 = performance.now();
await profiled(async () => {
  for (let i = 0; i < pages; i++) await page(i);
});
const wall = performance.now() - t0;
const elu = performance.eventLoopUtilization(elu0);
console.log(
  `${pages} pages of ${pageSize} over ${messages} messages: ${Math.round((pages / wall) * 1000)} pages/s; ` +
    `main thread busy ${((elu.active / pages) * 1000).toFixed(1)} µs/page`,
);
await close();
