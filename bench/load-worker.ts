/**
 * A load-generating child process: opens its connections, runs a closed loop of pre-encoded calls
 * from the start command, and reports the calls, latencies and its own CPU time within the measured
 * window. Spawned by `bench/run.ts` (`node --import tsx bench/load-worker.ts`, IPC channel).
 */
import { LatencyHistogram } from './latency-histogram.js';
import { METHOD_PATHS, RequestPool } from './request-payloads.js';
import { validateResponse } from './response-checks.js';
import { connectTransport, type CallFailure, type UnaryTransport } from './unary-transport.js';
import type {
  LoadReport,
  LoadTask,
  ParentMessage,
  StartCommand,
  WorkerMessage,
} from './worker-protocol.js';

/** How long to wait for the calls still in flight when the window ends. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Sends to the parent; `exit` ends this process once the message is out. */
function send(message: WorkerMessage, exit = false): void {
  if (!process.connected) process.exit(exit ? 0 : 1);
  process.send?.(message, undefined, undefined, () => {
    if (exit) process.exit(0);
  });
}

function buildPool(task: LoadTask): RequestPool {
  switch (task.kind) {
    case 'appendMessage':
      return RequestPool.appendMessage(task.threadIds, task.bodyBytes);
    case 'appendMessages':
      return RequestPool.appendMessages(task.threadIds, task.bodyBytes, task.batchSize);
    case 'listMessages':
      return RequestPool.listMessages(task.listThreadId, task.pageSize, BigInt(task.listHeadSeq));
  }
}

async function prepare(
  task: LoadTask,
): Promise<{ pool: RequestPool; transports: UnaryTransport[] }> {
  const pool = buildPool(task);
  const headers = { authorization: `Bearer ${task.apiKey}`, 'x-user-id': task.userId };
  const transports = await Promise.all(
    Array.from({ length: task.connections }, (_, i) =>
      connectTransport(task.client, task.address, headers, `${process.pid}-${i}`),
    ),
  );
  return { pool, transports };
}

async function runLoad(
  task: LoadTask,
  pool: RequestPool,
  transports: UnaryTransport[],
  start: StartCommand,
): Promise<LoadReport> {
  const path = METHOD_PATHS[task.kind];
  const histogram = new LatencyHistogram();
  const errors: Record<string, number> = {};
  let calls = 0;
  let firstError: string | undefined;
  let invalidResponse: string | undefined;
  let checked = 0;
  let stopping = false;
  let inFlight = 0;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow: NodeJS.CpuUsage | undefined;

  setTimeout(() => (cpuAtStart = process.cpuUsage()), start.windowStartMs - Date.now());
  const stopped = new Promise<void>((resolve) => {
    setTimeout(() => {
      cpuInWindow = process.cpuUsage(cpuAtStart);
      stopping = true;
      resolve();
    }, start.windowEndMs - Date.now());
  });
  let drained: () => void = () => undefined;
  const allDrained = new Promise<void>((resolve) => (drained = resolve));

  const issue = (transport: UnaryTransport): void => {
    if (stopping) {
      if (--inFlight === 0) drained();
      return;
    }
    const startedAt = performance.now();
    transport.call(path, pool.take(), (failure: CallFailure | undefined, response) => {
      const now = Date.now();
      if (now >= start.windowStartMs && now < start.windowEndMs) {
        if (failure) {
          errors[failure.code] = (errors[failure.code] ?? 0) + 1;
          firstError ??= `code ${failure.code}: ${failure.message}`;
        } else {
          calls += 1;
          histogram.record((performance.now() - startedAt) * 1000);
        }
      }
      if (!failure && response && checked++ % 1000 === 0) {
        invalidResponse ??= validateResponse(task, response);
      }
      issue(transport);
    });
  };

  for (let i = 0; i < task.concurrency; i++) {
    const transport = transports[i % transports.length];
    if (!transport) throw new Error('no connection');
    inFlight += 1;
    issue(transport);
  }
  await stopped;
  await Promise.race([allDrained, new Promise((r) => setTimeout(r, DRAIN_TIMEOUT_MS))]);
  const cpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
  return {
    type: 'report',
    calls,
    errors,
    firstError,
    invalidResponse,
    latencies: histogram.snapshot(),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    windowMs: start.windowEndMs - start.windowStartMs,
  };
}

let prepared: Promise<{ pool: RequestPool; transports: UnaryTransport[] }> | undefined;
let currentTask: LoadTask | undefined;

process.on('message', (message: ParentMessage) => {
  if (message.type === 'task') {
    currentTask = message;
    prepared = prepare(message);
    prepared.then(
      ({ pool }) => send({ type: 'ready', requestBytes: pool.take().length }),
      (err: unknown) => send({ type: 'failure', message: String(err) }),
    );
    return;
  }
  const task = currentTask;
  if (!prepared || !task) return;
  prepared
    .then(({ pool, transports }) => runLoad(task, pool, transports, message))
    .then(
      (report) => send(report, true),
      (err: unknown) => send({ type: 'failure', message: String(err) }, true),
    );
});

// The parent hangs up when it is done with this worker, or when the run failed.
process.on('disconnect', () => process.exit(0));
