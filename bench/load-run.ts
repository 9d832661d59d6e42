import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { cpuBetween, readCpu } from './cpu-sampler.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { LoadReport, LoadTask, WorkerMessage } from './worker-protocol.js';

/** One closed-loop load run against one server: the task, spread over worker processes. */
export interface LoadRunPlan {
  benchDir: string;
  /** The task of every worker, without its share of the concurrency. */
  task: Omit<LoadTask, 'type' | 'concurrency'>;
  processes: number;
  /** Calls in flight in all, split evenly over the processes. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** The server's pid, to read its CPU time over the window. */
  serverPid: number;
  /** The server's processes when it has several (PostgreSQL), listed at the window's start. */
  serverPids?: () => number[];
  /** The worker program (default `load-worker.ts`), in `benchDir`. */
  workerScript?: string;
}

/** What one load run measured. */
export interface LoadRunResult {
  calls: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  errors: Record<string, number>;
  firstError: string | undefined;
  invalidResponse: string | undefined;
  requestBytes: number;
  windowMs: number;
  /** The load generator's CPU time in the window, all processes, ms (`process.cpuUsage`). */
  clientCpuMs: number;
  /** The server's CPU time in the window, ms (`/proc`), when readable. */
  serverCpuMs: number | undefined;
  /** The machine's busy share over the window, 0..1, when readable. */
  machineBusy: number | undefined;
}

/** Runs the plan: spawn workers, wait until all are connected, start them together, merge reports. */
export async function runLoad(plan: LoadRunPlan): Promise<LoadRunResult> {
  const processes = Math.max(1, Math.min(plan.processes, plan.concurrency));
  const workers = Array.from({ length: processes }, () =>
    fork(join(plan.benchDir, plan.workerScript ?? 'load-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    const readies = await Promise.all(
      workers.map((worker, i) => {
        const share =
          Math.floor(plan.concurrency / processes) + (i < plan.concurrency % processes ? 1 : 0);
        const connections = Math.max(1, Math.min(plan.task.connections, share));
        worker.send({ ...plan.task, type: 'task', concurrency: share, connections });
        return nextMessage(worker, 'ready');
      }),
    );
    const windowStartMs = Date.now() + 100 + plan.warmupMs;
    const windowEndMs = windowStartMs + plan.durationMs;
    const reports = workers.map((worker) => nextMessage(worker, 'report'));
    for (const worker of workers) worker.send({ type: 'start', windowStartMs, windowEndMs });

    await sleepUntil(windowStartMs);
    const pids = plan.serverPids?.() ?? [plan.serverPid];
    const before = readCpu(pids);
    await sleepUntil(windowEndMs);
    const spent = cpuBetween(before, readCpu(pids));
    return merge(await Promise.all(reports), readies[0]?.requestBytes ?? 0, spent);
  } finally {
    for (const worker of workers) {
      if (worker.connected) worker.disconnect();
      if (worker.exitCode === null) worker.kill();
    }
  }
}

function merge(
  reports: LoadReport[],
  requestBytes: number,
  spent: ReturnType<typeof cpuBetween>,
): LoadRunResult {
  const histogram = new LatencyHistogram();
  const errors: Record<string, number> = {};
  let calls = 0;
  let clientCpuUs = 0;
  for (const report of reports) {
    histogram.merge(report.latencies);
    calls += report.calls;
    clientCpuUs += report.cpuUserUs + report.cpuSystemUs;
    for (const [code, count] of Object.entries(report.errors)) {
      errors[code] = (errors[code] ?? 0) + count;
    }
  }
  const windowMs = reports[0]?.windowMs ?? 1;
  return {
    calls,
    callsPerSec: (calls * 1000) / windowMs,
    p50Us: histogram.percentile(50),
    p99Us: histogram.percentile(99),
    errors,
    firstError: reports.find((r) => r.firstError)?.firstError,
    invalidResponse: reports.find((r) => r.invalidResponse)?.invalidResponse,
    requestBytes,
    windowMs,
    clientCpuMs: clientCpuUs / 1000,
    serverCpuMs: serverCpu(spent.processMs),
    machineBusy: spent.machineBusy,
  };
}

/** Resolves with the worker's next message of the given type. */
function nextMessage<T extends WorkerMessage['type']>(
  worker: ChildProcess,
  type: T,
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage): void => {
      if (message.type === type) {
        worker.off('message', onMessage);
        resolve(message as Extract<WorkerMessage, { type: T }>);
      } else if (message.type === 'failure') {
        worker.off('message', onMessage);
        reject(new Error(`load worker: ${message.message}`));
      }
    };
    worker.on('message', onMessage);
    worker.once('exit', (code) =>
      reject(new Error(`load worker exited (${code}) before "${type}"`)),
    );
  });
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
