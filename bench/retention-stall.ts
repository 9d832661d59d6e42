// How long a retention run holds the event loop: the longest stall while RunRetention walks a
// database with nothing to remove (the common case of a scheduled run).
// Usage: tsx bench/retention-stall.ts [messages=100000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/telemetry/index.js';

const total = Number(process.argv[2] ?? 100_000);
const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-retention-stall-'));
const config = loadConfig({
  argv: [],
  env: {
    PROGRESSDB_DATA_DIR: dataDir,
    PROGRESSDB_LISTEN: '127.0.0.1:0',
    PROGRESSDB_ADMIN_KEYS: 'stall-admin-key-0123456789',
    PROGRESSDB_METRICS_LISTEN: 'off',
    PROGRESSDB_TELEMETRY: 'off',
    PROGRESSDB_DURABILITY: 'os',
    PROGRESSDB_RETENTION_MAX_VERSIONS: '3',
    PROGRESSDB_RETENTION_MESSAGE_TTL_SECONDS: '86400',
    PROGRESSDB_RETENTION_INTERVAL_SECONDS: '0',
  },
});
const app = await startApp(config, createLogger({ level: 'silent' }));
const body = Buffer.from([0x1a, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
for (let i = 0; i < total / 100; i++) {
  await app.log.appendMessages(
    { userId: 'alice' },
    {
      threadId: `t-${i % 200}`,
      createThread: true,
      requestId: '',
      batch: true,
      expected: { kind: 'any' },
      messages: Array.from({ length: 100 }, () => ({
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
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const t0 = performance.now();
const report = await app.retention.run({ dryRun: false });
const ms = performance.now() - t0;
delay.disable();
console.log(
  `${total} messages in 200 threads: retention run ${ms.toFixed(0)} ms, removed ${report.messagesPurged + report.versionsPurged}; ` +
    `longest event-loop stall ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
);
await app.close();
await rm(dataDir, { recursive: true, force: true });
