// In-process profile of the log layer without gRPC: main-thread busy time per appended message,
// from the event loop's utilisation (insensitive to other load on the machine, unlike wall time).
// Usage: tsx bench/log-profile.ts [batch=100] [calls=300] [inflight=16]
// LOG_PROFILE=<file>: a CPU profile of the measured window only; PROGRESSDB_* settings apply.
import { performance } from 'node:perf_hooks';
import { appendMany, profiled, startInProcess, storedBody } from './in-process.js';

const [batch = 100, calls = 300, inflight = 16] = process.argv.slice(2).map(Number);
const { app, close } = await startInProcess('logprof');
const body = storedBody({ text: 'x'.repeat(260), n: 1 });
const one = (i: number) => appendMany(app, `t-${i % 1000}`, batch, body, batch);
// warm up
for (let i = 0; i < 50; i++) await one(i);
let groups = 0;
app.log.onCommit(() => groups++);
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
await profiled(() =>
  Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < calls) await one(next++);
    }),
  ),
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
await close();
