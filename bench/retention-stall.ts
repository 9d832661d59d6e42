// How long a retention run holds the event loop: the longest stall while RunRetention walks a
// database with nothing to remove (the common case of a scheduled run).
// Usage: tsx bench/retention-stall.ts [messages=100000]
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { appendMany, startInProcess, storedBody } from './in-process.js';

const total = Number(process.argv[2] ?? 100_000);
const { app, close } = await startInProcess('retention-stall', {
  PROGRESSDB_DURABILITY: 'os',
  PROGRESSDB_RETENTION_MAX_VERSIONS: '3',
  PROGRESSDB_RETENTION_MESSAGE_TTL_SECONDS: '86400',
  PROGRESSDB_RETENTION_INTERVAL_SECONDS: '0',
});
const body = storedBody('hello');
for (let i = 0; i < total / 100; i++) await appendMany(app, `t-${i % 200}`, 100, body);
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
await close();
