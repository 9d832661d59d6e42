// In-process profile of the ListMessages read path without gRPC: main-thread time per page of the
// reader (scan, decode, open) plus the wire mapping and response encoding the server does.
// Usage: tsx bench/read-profile.ts [pages=20000] [pageSize=50] [messages=5000]
// LOG_PROFILE=<file>: a CPU profile of the measured window only.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { toWireMessageBytes } from '../src/server/wire-mapping.js';
import { pageResponse } from '../src/server/wire-encoding.js';

const [pages = 20_000, pageSize = 50, messages = 5_000] = process.argv.slice(2).map(Number);
const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-readprof-'));
const config = loadConfig({
  argv: [],
  env: {
    PROGRESSDB_DATA_DIR: dataDir,
    PROGRESSDB_LISTEN: '127.0.0.1:0',
    PROGRESSDB_ADMIN_KEYS: 'readprof-admin-key-0123456789',
    PROGRESSDB_METRICS_LISTEN: 'off',
    PROGRESSDB_TELEMETRY: process.env.PROGRESSDB_TELEMETRY ?? 'off',
  },
});
const app = await startApp(config, createLogger({ level: 'silent' }));
const text = JSON.stringify({ text: 'x'.repeat(260), n: 1 });
const body = Buffer.concat([
  Buffer.from([0x1a, 0x80 | (text.length & 0x7f), text.length >> 7]),
  Buffer.from(text),
]);
const threadId = 'read-profile';
for (let done = 0; done < messages; done += 100) {
  await app.log.appendMessages(
    { userId: 'alice' },
    {
      threadId,
      createThread: true,
      requestId: '',
      batch: true,
      expected: { kind: 'any' },
      messages: Array.from({ length: Math.min(100, messages - done) }, () => ({
        messageId: '',
        authorId: 'alice',
        role: 'user',
        body,
        metadata: {},
        replyToId: '',
      })),
    },
  );
}
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
const profileFile = process.env.LOG_PROFILE;
const session = profileFile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const elu0 = performance.eventLoopUtilization();
const t0 = performance.now();
for (let i = 0; i < pages; i++) await page(i);
const wall = performance.now() - t0;
const elu = performance.eventLoopUtilization(elu0);
console.log(
  `${pages} pages of ${pageSize} over ${messages} messages: ${Math.round((pages / wall) * 1000)} pages/s; ` +
    `main thread busy ${((elu.active / pages) * 1000).toFixed(1)} µs/page`,
);
if (session && profileFile) {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(profileFile, JSON.stringify(profile));
  session.disconnect();
}
await app.close();
await rm(dataDir, { recursive: true, force: true });
