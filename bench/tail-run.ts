import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { cpuBetween, readCpu } from './cpu-sampler.js';
import { LatencyHistogram } from './latency-histogram.js';
import type {
  AppendTask,
  TailParentMessage,
  TailTask,
  TailWorkerMessage,
  TailWorkerReport,
} from './tail-protocol.js';

/** One tail scenario against one server: tails spread over processes, optionally appenders. */
export interface TailRunPlan {
  benchDir: string;
  serverPid: number;
  tails: Omit<TailTask, 'type' | 'tails'> & { list: TailTask['tails']; processes: number };
  appends?: Omit<AppendTask, 'type'> & { processes: number };
  warmupMs: number;
  durationMs: number;
  /** The server's processes when it has several (PostgreSQL), listed at the window's start. */
  serverPids?: () => number[];
  /** The worker program (default `tail-worker.ts`), in `benchDir`. */
  workerScript?: string;
}

/** What a tail scenario measured. */
export interface TailRunResult {
  /** Events delivered to tails in the window, and per second. */
  deliveries: number;
  deliveriesPerSec: number;
  /** Delivery latency: append sent → event received by a tail, µs. */
  p50Us: number;
  p99Us: number;
  appendsPerSec: number;
  appendP50Us: number;
  appendP99Us: number;
  /** Appends the pacer issued late because too many were in flight. */
  lateAppends: number;
  /** Catch-up: per tail, events replayed and ms to `caught_up`. */
  replays: { events: number; elapsedMs: number }[];
  errors: Record<string, number>;
  firstError: string | undefined;
  windowMs: number;
  clientCpuMs: number;
  serverCpuMs: number | undefined;
  machineBusy: number | undefined;
}

function forkWorker(benchDir: string, script = 'tail-worker.ts'): ChildProcess {
  return fork(join(benchDir, script), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function next<T extends TailWorkerMessage['type']>(
  worker: ChildProcess,
  type: T,
): Promise<Extract<TailWorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: TailWorkerMessage): void => {
      if (message.type === type) {
        worker.off('message', onMessage);
        resolve(message as Extract<TailWorkerMessage, { type: T }>);
      } else if (message.type === 'failure') {
        worker.off('message', onMessage);
        reject(new Error(`tail worker: ${message.message}`));
      }
    };
    worker.on('message', onMessage);
    worker.once('exit', (code) =>
      reject(new Error(`tail worker exited (${code}) before "${type}"`)),
    );
  });
}

function split<T>(items: T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, p) => items.filter((_, i) => i % parts === p));
}

/** Runs the plan: tails first (live ones caught up), then appenders, one measured window. */
export async function runTails(plan: TailRunPlan): Promise<TailRunResult> {
  const workers: ChildProcess[] = [];
  const post = (worker: ChildProcess, message: TailParentMessage): void => {
    worker.send(message);
  };
  try {
    const { list, processes, ...tailTask } = plan.tails;
    const tailWorkers = split(list, Math.max(1, Math.min(processes, list.length))).map((tails) => {
      const worker = forkWorker(plan.benchDir, plan.workerScript);
      workers.push(worker);
      post(worker, { ...tailTask, type: 'tails', tails });
      return worker;
    });
    await Promise.all(tailWorkers.map((worker) => next(worker, 'ready')));
    const appendWorkers: ChildProcess[] = [];
    if (plan.appends) {
      const { processes: appendProcesses, ...appendTask } = plan.appends;
      const count = Math.max(1, appendProcesses);
      for (let p = 0; p < count; p++) {
        const worker = forkWorker(plan.benchDir, plan.workerScript);
        workers.push(worker);
        appendWorkers.push(worker);
        post(worker, {
          ...appendTask,
          type: 'appends',
          ratePerSec: appendTask.ratePerSec / count,
          concurrency: Math.max(1, Math.ceil(appendTask.concurrency / count)),
        });
      }
      await Promise.all(appendWorkers.map((worker) => next(worker, 'ready')));
    }
    const catchup = plan.tails.mode === 'catchup';
    const windowStartMs = Date.now() + 100 + (catchup ? 0 : plan.warmupMs);
    const windowEndMs = windowStartMs + plan.durationMs;
    const tailReports = tailWorkers.map((worker) => next(worker, 'report'));
    const appendReports = appendWorkers.map((worker) => next(worker, 'report'));
    // Awaited below; a worker that dies meanwhile must not crash the run as an unhandled rejection.
    for (const report of [...tailReports, ...appendReports]) report.catch(() => undefined);
    for (const worker of workers) post(worker, { type: 'start', windowStartMs, windowEndMs });
    await sleepUntil(windowStartMs);
    const pids = plan.serverPids?.() ?? [plan.serverPid];
    const before = readCpu(pids);
    const startedAt = Date.now();
    let tails: TailWorkerReport[];
    if (catchup) {
      tails = await Promise.all(tailReports);
    } else {
      await sleepUntil(windowEndMs);
      tails = [];
    }
    const spent = cpuBetween(before, readCpu(pids));
    const serverWindowMs = Date.now() - startedAt;
    if (!catchup) tails = await Promise.all(tailReports);
    const appends = await Promise.all(appendReports);
    return merge(tails, appends, spent, catchup ? serverWindowMs : plan.durationMs);
  } finally {
    for (const worker of workers) {
      if (worker.connected) worker.disconnect();
      if (worker.exitCode === null) worker.kill();
    }
  }
}

function merge(
  tails: TailWorkerReport[],
  appends: TailWorkerReport[],
  spent: ReturnType<typeof cpuBetween>,
  windowMs: number,
): TailRunResult {
  const deliveries = new LatencyHistogram();
  const calls = new LatencyHistogram();
  const errors: Record<string, number> = {};
  let clientCpuUs = 0;
  for (const report of [...tails, ...appends]) {
    clientCpuUs += report.cpuUserUs + report.cpuSystemUs;
    for (const [code, count] of Object.entries(report.errors))
      errors[code] = (errors[code] ?? 0) + count;
  }
  for (const report of tails) deliveries.merge(report.latencies);
  for (const report of appends) calls.merge(report.latencies);
  const delivered = tails.reduce((sum, r) => sum + r.count, 0);
  const appended = appends.reduce((sum, r) => sum + r.count, 0);
  return {
    deliveries: delivered,
    deliveriesPerSec: (delivered * 1000) / windowMs,
    p50Us: deliveries.percentile(50),
    p99Us: deliveries.percentile(99),
    appendsPerSec: (appended * 1000) / windowMs,
    appendP50Us: calls.percentile(50),
    appendP99Us: calls.percentile(99),
    lateAppends: appends.reduce((sum, r) => sum + r.late, 0),
    replays: tails.flatMap((r) => r.replays),
    errors,
    firstError: [...tails, ...appends].find((r) => r.firstError)?.firstError,
    windowMs,
    clientCpuMs: clientCpuUs / 1000,
    serverCpuMs: serverCpu(spent.processMs),
    machineBusy: spent.machineBusy,
  };
}

function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}

/** The server's CPU over its processes; one that ended in the window (a backend) counts for 0. */
function serverCpu(processMs: (number | undefined)[]): number | undefined {
  return processMs[0] === undefined
    ? undefined
    : processMs.reduce<number>((sum, ms) => sum + (ms ?? 0), 0);
}
