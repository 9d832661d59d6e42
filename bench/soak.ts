/**
 * `npm run soak`: minutes of mixed load on one ProgressDB child process — appends, edits, reactions,
 * pages, tails joining and leaving, retention on a 5-second schedule (max 3 versions) — sampling the
 * server's resident memory and CPU, a probe's latency (how long the event loop keeps a cheap call
 * waiting) and every operation's p99 over time, then fitting a line to RSS to call a growth trend.
 * Not part of CI. Flags: --duration-ms (default 300000), --sample-ms (5000), --append-rate (200/s),
 * --tails (1000), --threads (100), --durability (sync), --heap-cap-mb (256: the server's
 * `--max-old-space-size`). Writes `bench/results/soak-<date>.json`.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdminServiceClient } from '../src/gen/progressdb/v1/admin_service.js';
import { MessageServiceClient } from '../src/gen/progressdb/v1/message_service.js';
import { TailServiceClient } from '../src/gen/progressdb/v1/tail_service.js';
import { formatNumber } from './bench-report.js';
import { LatencyHistogram } from './latency-histogram.js';
import { makeBody } from './request-payloads.js';
import { startProgressDb } from './server-process.js';
import { processMemory } from './tail-scenarios.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');
const BACKEND_KEY = 'soak-backend-key-0123456789';
const ADMIN_KEY = 'soak-admin-key-0123456789';
const OPERATIONS = ['append', 'edit', 'reaction', 'page', 'probe'] as const;
type Operation = (typeof OPERATIONS)[number];

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '300000' },
    'sample-ms': { type: 'string', default: '5000' },
    'append-rate': { type: 'string', default: '200' },
    tails: { type: 'string', default: '1000' },
    threads: { type: 'string', default: '100' },
    durability: { type: 'string', default: 'sync' },
    'heap-cap-mb': { type: 'string', default: '256' },
  },
});
const heapCapMb = Number(values['heap-cap-mb']);
const durationMs = Number(values['duration-ms']);
const sampleMs = Number(values['sample-ms']);
const appendRate = Number(values['append-rate']);
const tailCount = Number(values.tails);
const threadCount = Number(values.threads);
const durability = values.durability ?? 'sync';

/** One sample of the soak. */
interface Sample {
  atS: number;
  rssMb: number;
  serverCpuCores: number;
  /** This process's CPU: the load generator, tails included. */
  clientCpuCores: number;
  tailsOpen: number;
  subscribers: number;
  events: number;
  counts: Record<Operation, number>;
  p99Ms: Record<Operation, number>;
  tailFrames: number;
  errors: number;
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Least-squares slope and r² of y over x. */
function regression(points: [number, number][]): { slope: number; r2: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, r2: sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy) };
}

function call<Res>(
  start: (done: (err: grpc.ServiceError | null, res: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}

async function main(): Promise<void> {
  console.log(
    `soak: ${durationMs / 1000} s, ${appendRate} appends/s (+ edits, reactions, pages), ${tailCount} tails churning, ` +
      `${threadCount} threads, durability ${durability}, retention every 5 s keeping 3 versions, ` +
      `server heap capped at ${heapCapMb} MB`,
  );
  const server = await startProgressDb({
    repoRoot,
    durability,
    backendKey: BACKEND_KEY,
    adminKey: ADMIN_KEY,
    startTimeoutMs: 60_000,
    env: {
      // The old generation capped: a JavaScript leak would run the server out of heap (and the soak
      // would report its calls failing), so RSS growth that remains is native (RocksDB, buffers).
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${heapCapMb}`.trim(),
      PROGRESSDB_RETENTION_MAX_VERSIONS: '3',
      PROGRESSDB_RETENTION_INTERVAL_SECONDS: process.env.SOAK_RETENTION_INTERVAL_SECONDS ?? '5',
    },
  });
  const credentials = grpc.credentials.createInsecure();
  const channelOptions = { 'grpc.use_local_subchannel_pool': 1 };
  const messages = new MessageServiceClient(server.address, credentials, channelOptions);
  const tailChannels = Array.from(
    { length: 4 },
    (_, i) =>
      new TailServiceClient(server.address, credentials, { ...channelOptions, 'soak.channel': i }),
  );
  const admin = new AdminServiceClient(server.address, credentials, channelOptions);
  const backend = new grpc.Metadata();
  backend.set('authorization', `Bearer ${BACKEND_KEY}`);
  backend.set('x-user-id', 'soak-user');
  const adminMetadata = new grpc.Metadata();
  adminMetadata.set('authorization', `Bearer ${ADMIN_KEY}`);

  let retention: string;
  try {
    const report = await call((done) => admin.runRetention({ dryRun: true }, adminMetadata, done));
    retention = `RunRetention answers: ${JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`;
  } catch (err) {
    retention = `RunRetention: ${grpc.status[(err as grpc.ServiceError).code]} (${(err as grpc.ServiceError).details})`;
  }
  console.log(retention);

  const threadIds = Array.from({ length: threadCount }, (_, i) => `soak-${i}`);
  const recent = new Map<string, string[]>(threadIds.map((t) => [t, []]));
  const heads = new Map<string, bigint>();
  const histograms = new Map<Operation, LatencyHistogram>(
    OPERATIONS.map((o) => [o, new LatencyHistogram()]),
  );
  let errors = 0;
  let firstError: string | undefined;
  let tailFrames = 0;
  let stopping = false;
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
  const timed = async (operation: Operation, work: () => Promise<unknown>): Promise<void> => {
    const started = performance.now();
    try {
      await work();
      histograms.get(operation)?.record((performance.now() - started) * 1000);
    } catch (err) {
      errors++;
      if (firstError === undefined) {
        firstError = `${operation}: ${String(err)}`;
        console.log(`first error: ${firstError}`);
      }
    }
  };

  const operations: Record<Exclude<Operation, 'probe'>, (threadId?: string) => Promise<void>> = {
    append: (chosen?: string) =>
      timed('append', async () => {
        const threadId = chosen ?? pick(threadIds)!;
        const res = await call<{ message?: { id: string }; revision: bigint }>((done) =>
          messages.appendMessage(
            {
              threadId,
              role: 'user',
              body: makeBody(300),
              createThread: true,
              messageId: '',
              requestId: '',
              authorId: '',
              metadata: {},
              replyToId: '',
              expectedRevision: undefined,
            },
            backend,
            done,
          ),
        );
        heads.set(threadId, res.revision);
        const ids = recent.get(threadId)!;
        ids.push(res.message!.id);
        if (ids.length > 50) ids.shift();
      }),
    edit: () =>
      timed('edit', async () => {
        const threadId = pick(threadIds)!;
        const messageId = pick(recent.get(threadId)!);
        if (!messageId) return;
        await call((done) =>
          messages.editMessage(
            {
              threadId,
              messageId,
              body: makeBody(300, Math.floor(Math.random() * 16)),
              metadata: undefined,
              requestId: '',
            },
            backend,
            done,
          ),
        );
      }),
    reaction: () =>
      timed('reaction', async () => {
        const threadId = pick(threadIds)!;
        const messageId = pick(recent.get(threadId)!);
        if (!messageId) return;
        const request = {
          threadId,
          messageId,
          reaction: pick(['ok', 'heart', 'eyes'])!,
          requestId: '',
        };
        await call((done) =>
          Math.random() < 0.7
            ? messages.addReaction(request, backend, done)
            : messages.removeReaction(request, backend, done),
        );
      }),
    page: () =>
      timed('page', async () => {
        const threadId = pick(threadIds)!;
        if (recent.get(threadId)!.length === 0) return;
        await call((done) =>
          messages.listMessages(
            { threadId, pageSize: 50, anchor: undefined, includeDeleted: false, order: 0 },
            backend,
            done,
          ),
        );
      }),
  };
  const rates: Record<Exclude<Operation, 'probe'>, number> = {
    append: appendRate,
    edit: appendRate / 4,
    reaction: appendRate / 4,
    page: appendRate / 2,
  };
  const pacers = Object.entries(rates).map(async ([name, rate]) => {
    const operation = operations[name as keyof typeof operations];
    const started = performance.now();
    let issued = 0;
    const inFlight = new Set<Promise<void>>();
    while (!stopping) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (issued < due && inFlight.size < 64) {
        issued++;
        const work = operation().finally(() => inFlight.delete(work));
        inFlight.add(work);
      }
      if (issued < due) issued = due;
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inFlight);
  });

  // Tails join and leave: each lives 2-20 s, then is cancelled and replaced.
  let tailsOpen = 0;
  const open = new Set<{ cancel(): void }>();
  let tailSerial = 0;
  const openTail = (): void => {
    if (stopping) return;
    const channel = tailChannels[tailSerial++ % tailChannels.length]!;
    const threadId = pick(threadIds)!;
    // Most tails follow one thread, a third of them resuming 20 events back; a few follow the user's
    // inbox, which is every thread here (so they are few: each gets every event).
    const head = heads.get(threadId) ?? 0n;
    const stream =
      Math.random() < 0.98
        ? channel.tailThread(
            { threadId, afterRevision: Math.random() < 0.3 && head > 20n ? head - 20n : undefined },
            backend,
          )
        : channel.tailUser({ userId: 'soak-user', afterPosition: undefined }, backend);
    tailsOpen++;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      open.delete(stream);
      tailsOpen--;
      openTail();
    };
    stream.on('data', () => tailFrames++);
    open.add(stream);
    stream.on('error', (err: grpc.ServiceError) => {
      if (!stopping && err.code !== grpc.status.CANCELLED) {
        errors++;
        if (firstError === undefined) {
          firstError = `tail: ${grpc.status[err.code]} ${err.details}`;
          console.log(`first error: ${firstError}`);
        }
      }
      close();
    });
    stream.on('end', close);
    setTimeout(() => stream.cancel(), 2000 + Math.random() * 18_000);
  };
  // Threads exist before their tails: one append each.
  await Promise.all(threadIds.map((threadId) => operations.append(threadId)));
  for (let i = 0; i < tailCount; i++) openTail();

  const samples: Sample[] = [];
  const started = Date.now();
  let lastCpu = cpuMs(server.pid);
  let lastClientCpu = process.cpuUsage();
  let lastAt = Date.now();
  let lastCounts = Object.fromEntries(OPERATIONS.map((o) => [o, 0])) as Record<Operation, number>;
  const probe = setInterval(() => {
    void timed('probe', () => call((done) => admin.getStats({}, adminMetadata, done)));
  }, 100);
  while (Date.now() - started < durationMs) {
    await new Promise((r) => setTimeout(r, sampleMs));
    const stats = await call<{ subscribers: { count: bigint }[]; events: bigint }>((done) =>
      admin.getStats({}, adminMetadata, done),
    );
    const now = Date.now();
    const cpu = cpuMs(server.pid);
    const clientCpu = process.cpuUsage(lastClientCpu);
    lastClientCpu = process.cpuUsage();
    const counts = Object.fromEntries(
      OPERATIONS.map((o) => [o, histograms.get(o)!.count]),
    ) as Record<Operation, number>;
    const sample: Sample = {
      atS: (now - started) / 1000,
      rssMb: processMemory(server.pid).rss / 1e6,
      serverCpuCores: (cpu - lastCpu) / (now - lastAt),
      clientCpuCores: (clientCpu.user + clientCpu.system) / 1000 / (now - lastAt),
      tailsOpen,
      subscribers: Number(stats.subscribers.reduce((s, x) => s + x.count, 0n)),
      events: Number(stats.events),
      counts: Object.fromEntries(OPERATIONS.map((o) => [o, counts[o] - lastCounts[o]])) as Record<
        Operation,
        number
      >,
      p99Ms: Object.fromEntries(
        OPERATIONS.map((o) => [o, histograms.get(o)!.percentile(99) / 1000]),
      ) as Record<Operation, number>,
      tailFrames,
      errors,
    };
    samples.push(sample);
    for (const o of OPERATIONS) histograms.set(o, new LatencyHistogram());
    lastCounts = Object.fromEntries(OPERATIONS.map((o) => [o, 0])) as Record<Operation, number>;
    lastCpu = cpu;
    lastAt = now;
    tailFrames = 0;
    console.log(
      `${sample.atS.toFixed(0).padStart(5)} s  RSS ${sample.rssMb.toFixed(0)} MB  CPU ${sample.serverCpuCores.toFixed(2)} (client ${sample.clientCpuCores.toFixed(2)})  ` +
        `tails ${sample.tailsOpen}/${sample.subscribers}  events ${formatNumber(sample.events)}  ` +
        `p99 ms: ${OPERATIONS.map((o) => `${o} ${sample.p99Ms[o].toFixed(1)}`).join(', ')}  errors ${errors}`,
    );
  }
  clearInterval(probe);
  stopping = true;
  await Promise.all(pacers);
  for (const stream of open) stream.cancel();
  messages.close();
  admin.close();
  for (const channel of tailChannels) channel.close();
  await server.stop();

  // The first fifth warms caches and allocators up; the trend is fitted on the rest.
  const steady = samples.filter((s) => s.atS >= durationMs / 5000);
  const { slope, r2 } = regression(steady.map((s) => [s.atS / 60, s.rssMb]));
  const mean = steady.reduce((sum, s) => sum + s.rssMb, 0) / Math.max(steady.length, 1);
  // The second half alone: is the growth slowing down (caches and memtables reaching their caps)?
  const late = regression(
    samples.filter((s) => s.atS >= durationMs / 2000).map((s) => [s.atS / 60, s.rssMb]),
  );
  const growth = (slope * (durationMs / 60_000)) / mean;
  const verdict =
    Math.abs(growth) < 0.1 || r2 < 0.5
      ? 'no growth trend'
      : `RSS grows ${slope.toFixed(2)} MB/min (r² ${r2.toFixed(2)})`;
  const summary = {
    startedAt: new Date(started).toISOString(),
    durationMs,
    appendRate,
    tails: tailCount,
    threads: threadCount,
    durability,
    heapCapMb,
    cores: cpus().length,
    retention,
    errors,
    firstError,
    rssSlopeMbPerMin: slope,
    rssR2: r2,
    secondHalfRssSlopeMbPerMin: late.slope,
    secondHalfRssR2: late.r2,
    rssMeanMb: mean,
    projectedGrowthOverRun: growth,
    verdict,
    samples,
  };
  console.log(
    `\nRSS over the steady part: mean ${mean.toFixed(0)} MB, slope ${slope.toFixed(2)} MB/min (r² ${r2.toFixed(2)}): ${verdict}; ` +
      `second half ${late.slope.toFixed(2)} MB/min (r² ${late.r2.toFixed(2)}); errors ${errors}${firstError ? ` (first: ${firstError})` : ''}`,
  );
  const dir = resolve(repoRoot, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `soak-${new Date(started).toISOString().slice(0, 10)}.json`);
  await writeFile(file, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`Written to ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
