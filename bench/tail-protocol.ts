import type { HistogramSnapshot } from './latency-histogram.js';
import type { CallHeaders } from './unary-transport.js';

/**
 * The messages between `tail-run.ts` and `tail-worker.ts`. A tail worker either holds tails (live:
 * counts deliveries and their latency; catch-up: times each tail's replay) or appends (paced at a
 * rate, or a closed loop), stamping each message id with the send time so tails can time delivery.
 */

/** Parent → worker: hold these tails. */
export interface TailTask {
  type: 'tails';
  address: string;
  headers: Record<string, string>;
  connections: number;
  /** `live`: open now, ready once every tail is caught up. `catchup`: open on start, time replays. */
  mode: 'live' | 'catchup';
  /** One entry per tail: the thread it follows and its `after_revision` (absent: live only). */
  tails: { threadId: string; afterRevision?: string }[];
}

/** Parent → worker: append to these threads. */
export interface AppendTask {
  type: 'appends';
  address: string;
  headers: CallHeaders;
  connections: number;
  threadIds: string[];
  /** Appends per second, paced (open loop); 0: a closed loop of `concurrency` calls. */
  ratePerSec: number;
  /** Calls in flight at most (paced) or always (closed loop). */
  concurrency: number;
  bodyBytes: number;
}

/** Parent → worker: go; measure from `windowStartMs` to `windowEndMs` (wall clock). */
export interface WindowCommand {
  type: 'start';
  windowStartMs: number;
  windowEndMs: number;
}

/** Worker → parent: connected (and, for live tails, every tail caught up). */
export interface WorkerReady {
  type: 'ready';
  opened: number;
}

/** Worker → parent: what it saw in the window. */
export interface TailWorkerReport {
  type: 'report';
  /** Event frames received (tails) or calls answered (appends) within the window. */
  count: number;
  /** Delivery latency (tails: send → receipt of stamped events) or call latency (appends), µs. */
  latencies: HistogramSnapshot;
  errors: Record<string, number>;
  firstError: string | undefined;
  /** Catch-up mode: per tail, events replayed and ms from opening to `caught_up`. */
  replays: { events: number; elapsedMs: number }[];
  /** Appends the pacer could not issue on time because `concurrency` calls were in flight. */
  late: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  windowMs: number;
}

/** Worker → parent: it could not run. */
export interface TailWorkerFailure {
  type: 'failure';
  message: string;
}

export type TailParentMessage = TailTask | AppendTask | WindowCommand;
export type TailWorkerMessage = WorkerReady | TailWorkerReport | TailWorkerFailure;

/** The stamp in a message id: `lat~<monotonic µs>~<n>`; CLOCK_MONOTONIC is shared by processes. */
export const STAMP_PREFIX = 'lat~';

/** The monotonic clock (µs) every process on the machine shares (`process.hrtime`). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
