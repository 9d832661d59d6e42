// In-process profile of the log layer without gRPC: main-thread busy time per appended message,
// from the event loop's utilisation (insensitive to other load on the machine, unlike wall time).
// Usage: tsx bench/log-profile.ts [batch=100] [calls=300] [inflight=16]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/telemetry/index.js';

const [batch = 100, calls = 300, inflight = 16] = process.argv.slice(2).map(Number);
const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-logprof-'));
const config = loadConfig({
  argv: [],
  env: {
    PROGRESSDB_DATA_DIR: dataDir,
    PROGRESSDB_LISTEN: '127.0.0.1:0',
    PROGRESSDB_ADMIN_KEYS: 'logprof-admin-key-0123456789',
    PROGRESSDB_METRICS_LISTEN: 'off',
    PROGRESSDB_TELEMETRY: process.env.PROGRESSDB_TELEMETRY ?? 'off',
    ...(process.env.PROGRESSDB_WRITER_MAX_GROUP_COMMANDS
      ? { PROGRESSDB_WRITER_MAX_GROUP_COMMANDS: process.env.PROGRESSDB_WRITER_MAX_GROUP_COMMANDS }
      : {}),
  },
});
const app = await startApp(config, createLogger({ level: 'silent' }));
const body = Buffer.from(JSON.stringify({ text: 'x'.repeat(260), n: 1 }));
// The encoded google.protobuf.Value of a string, as the server stores bodies.
const valueBody = Buffer.concat([Buffer.from([0x1a]), varint(body.length), body]);
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
async function one(i: number): Promise<void> {
  await app.log.appendMessages(
    { userId: 'alice' },
    {
      threadId: `t-${i % 1000}`,
      createThread: true,
      requestId: '',
      batch: batch > 1,
      expected: { kind: 'any' },
      messages: Array.from({ length: batch }, () => ({
        messageId: '',
        authorId: 'alice',
        role: 'user',
        body: valueBody,
        metadata: {},
        replyToId: '',
      })),
    },
  );
}
// warm up
for (let i = 0; i < 50; i++) await one(i);
// LOG_PROFILE=<file>: a CPU profile of the measured window only (not start-up).
const profileFile = process.env.LOG_PROFILE;
const session = profileFile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
let groups = 0;
app.log.onCommit(() => groups++);
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: inflight }, async () => {
    while (next < calls) await one(next++);
  }),
);
const wall = performance.now() - t0;
const elu = performance.eventLoopUtilization(elu0);
const cpu = process.cpuUsage(cpu0);
const messages = calls * batch;
console.log(
  `batch ${batch} x ${calls} calls, ${inflight} in flight: ${Math.round((messages / wall) * 1000)} msg/s wall; ` +
    `main thread busy ${((elu.active / messages) * 1000).toFixed(1)} µs/msg (ELU ${(elu.utilization * 100).toFixed(0)} %); ` +
    `process CPU ${(((cpu.user + cpu.system) / 1000 / messages) * 1000).toFixed(1)} µs/msg; ` +
    `${groups} group commits (${(calls / groups).toFixed(1)} calls each)`,
);
if (session && profileFile) {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(profileFile, JSON.stringify(profile));
  session.disconnect();
}
await app.close();
await rm(dataDir, { recursive: true, force: true });
