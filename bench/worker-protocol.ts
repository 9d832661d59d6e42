import type { HistogramSnapshot } from './latency-histogram.js';

/** The RPC a load worker drives. */
export type LoadKind = 'appendMessage' | 'appendMessages' | 'listMessages';

/** How a worker talks gRPC: through grpc-js channels, or as plain HTTP/2 (a thinner client). */
export type ClientKind = 'grpc-js' | 'http2';

/** What one load worker process does (parent → worker, first message). */
export interface LoadTask {
  type: 'task';
  kind: LoadKind;
  client: ClientKind;
  /** `host:port` of the server. */
  address: string;
  /** Separate HTTP/2 connections this process opens. */
  connections: number;
  /** Calls this process keeps in flight, spread over its connections (closed loop). */
  concurrency: number;
  /** The `authorization` and `x-user-id` metadata of every call. */
  apiKey: string;
  userId: string;
  bodyBytes: number;
  /** appendMessage / appendMessages: the threads, one picked at random per call. */
  threadIds: string[];
  /** appendMessages: messages per call. */
  batchSize: number;
  /** listMessages: the pre-filled thread, its head seq, and the page size. */
  listThreadId: string;
  listHeadSeq: string;
  /** listMessages on PostgreSQL: the lowest id of the listed thread (its ids are contiguous). */
  listLowSeq?: string;
  pageSize: number;
}

/** Parent → worker: start the closed loop now; measure from `windowStartMs` to `windowEndMs`. */
export interface StartCommand {
  type: 'start';
  /** Wall-clock (`Date.now()`) bounds of the measured window; the time before is warm-up. */
  windowStartMs: number;
  windowEndMs: number;
}

/** Worker → parent: connected and ready to start. */
export interface ReadyReport {
  type: 'ready';
  /** Encoded size of one request, in bytes. */
  requestBytes: number;
}

/** Worker → parent: what happened in the measured window. */
export interface LoadReport {
  type: 'report';
  /** Calls that completed successfully within the window. */
  calls: number;
  /** Failed calls within the window, by gRPC status code. */
  errors: Record<string, number>;
  /** The first error message seen, to show why. */
  firstError: string | undefined;
  /** A problem with the shape of a sampled response, if any. */
  invalidResponse: string | undefined;
  latencies: HistogramSnapshot;
  /** The worker's CPU time within the window, in microseconds (`process.cpuUsage`). */
  cpuUserUs: number;
  cpuSystemUs: number;
  windowMs: number;
}

/** Worker → parent: the task could not run. */
export interface FailureReport {
  type: 'failure';
  message: string;
}

/** Messages from the parent. */
export type ParentMessage = LoadTask | StartCommand;
/** Messages from a worker. */
export type WorkerMessage = ReadyReport | LoadReport | FailureReport;
