import { Status, type CallOptions as NiceCallOptions, type MetadataInit } from 'nice-grpc';
import { LinkedSignal, type CallRunner } from './call-runner.js';
import type { CaughtUp, Heartbeat } from './gen/progressdb/v1/tail_service.js';
import type { Event } from './model-types.js';
import { progressDBError, RateLimitedError, type ProgressDBError } from './progressdb-error.js';
import {
  backoffMs,
  isTailResumable,
  retryPolicy,
  sleep,
  type RetryOptions,
  type RetryPolicy,
} from './retry-policy.js';

/** Marks the end of a tail's replay: what follows is live. Yielded only with `caughtUp: true`. */
export interface TailCaughtUp {
  readonly caughtUp: true;
  /** Thread tails: the thread's head revision at the switch to live events. */
  readonly revision: bigint;
  /** User and global tails: the global position at the switch to live events. */
  readonly position: bigint;
}

/** What a tail with `caughtUp: true` yields. */
export type TailItem = Event | TailCaughtUp;

/** True for a {@link TailCaughtUp} marker, false for an event. */
export function isCaughtUp(item: TailItem): item is TailCaughtUp {
  return 'caughtUp' in item;
}

/** What `onReconnect` is told before a tail reconnects. */
export interface TailReconnect {
  /** Why the stream ended: `UnavailableError`, `SubscriberTooSlowError`, `RateLimitedError`. */
  readonly error: ProgressDBError;
  /** 1 for the first reconnect after a stream that delivered something, then 2, 3, … */
  readonly attempt: number;
  /** The wait before reconnecting, ms. */
  readonly delayMs: number;
  /** Where the tail resumes: the last revision (thread) or position (user, all) it passed. */
  readonly cursor: bigint | undefined;
}

/** Options every tail takes. */
export interface TailOptions {
  /** Closes the tail: the loop ends quietly. */
  readonly signal?: AbortSignal;
  /** Extra request headers. */
  readonly metadata?: MetadataInit;
  /** Ends the tail with `DeadlineExceededError` after this many ms. Default: none. */
  readonly deadlineMs?: number;
  /** Also yield a {@link TailCaughtUp} marker when each connection's replay is over. */
  readonly caughtUp?: boolean;
  /** Reconnection backoff and limit, on top of the client's `retry`; `false`: never reconnect. */
  readonly retry?: RetryOptions | false;
  /** Called before each reconnection, e.g. to log it. */
  readonly onReconnect?: (reconnect: TailReconnect) => void;
}

/**
 * A live tail: an async iterable of events (and markers, if asked) that reconnects after
 * `UNAVAILABLE`, a dropped connection, `SUBSCRIBER_TOO_SLOW` or `RATE_LIMITED`, resuming after the
 * last revision or position it passed on, so that every event arrives exactly once and in order.
 * `break`, {@link Tail.close} or the `signal` end it. It can be iterated once.
 */
export interface Tail<T> extends AsyncIterable<T> {
  /** The last revision (thread tail) or position (user and global tails) passed on, when known. */
  readonly cursor: bigint | undefined;
  /** Ends the tail; a loop waiting for the next event ends quietly. */
  close(): void;
}

/** One frame of any of the three tail RPCs. */
export interface TailFrame {
  frame:
    | { $case: 'event'; value: Event }
    | { $case: 'caughtUp'; value: CaughtUp }
    | { $case: 'heartbeat'; value: Heartbeat }
    | undefined;
}

/** How one kind of tail opens a stream and reads its cursor. */
export interface TailSource {
  /** The RPC path, for errors. */
  readonly method: string;
  /** Opens a stream resuming after `cursor` (from the start point when `undefined`). */
  open(cursor: bigint | undefined, options: NiceCallOptions): AsyncIterable<TailFrame>;
  /** The cursor an event moves to: its revision or position. */
  cursorOf(event: Event): bigint;
  /** The cursor a caught-up or heartbeat marker carries. */
  markerCursor(marker: CaughtUp | Heartbeat): bigint;
}

const max = (a: bigint | undefined, b: bigint): bigint => (a === undefined || b > a ? b : a);

/** The {@link Tail} implementation shared by the thread, user and global tails. */
export class ResumableTail<T extends TailItem> implements Tail<T> {
  readonly #runner: CallRunner;
  readonly #source: TailSource;
  readonly #options: TailOptions;
  readonly #closer = new AbortController();
  #cursor: bigint | undefined;
  #started = false;

  constructor(
    runner: CallRunner,
    source: TailSource,
    start: bigint | undefined,
    options: TailOptions,
  ) {
    this.#runner = runner;
    this.#source = source;
    this.#options = options;
    this.#cursor = start;
  }

  get cursor(): bigint | undefined {
    return this.#cursor;
  }

  close(): void {
    this.#closer.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#started) throw new Error('a tail can be iterated only once; open another');
    this.#started = true;
    return this.#run();
  }

  #policy(): RetryPolicy {
    const base = this.#runner.defaults.retry;
    const override = this.#options.retry;
    if (override === undefined) return base;
    return override === false ? retryPolicy(false) : retryPolicy(override, base);
  }

  async *#run(): AsyncGenerator<T, void, undefined> {
    const options = this.#options;
    const policy = this.#policy();
    const deadlineAt = this.#runner.deadlineAt(options, undefined);
    const stop = new LinkedSignal([options.signal, this.#runner.closedSignal, this.#closer.signal]);
    const signal = stop.signal;
    let failures = 0;
    try {
      for (;;) {
        let error: unknown;
        try {
          const frames = this.#runner.stream(
            this.#source.method,
            (o) => this.#source.open(this.#cursor, o),
            { signal, metadata: options.metadata, deadlineAt },
          );
          for await (const { frame } of frames) {
            failures = 0;
            if (frame?.$case === 'event') {
              const at = this.#source.cursorOf(frame.value);
              // Never pass on an event twice, whatever a reconnect replays.
              if (this.#cursor !== undefined && at <= this.#cursor) continue;
              this.#cursor = at;
              yield frame.value as T;
            } else if (frame !== undefined) {
              this.#cursor = max(this.#cursor, this.#source.markerCursor(frame.value));
              if (frame.$case === 'caughtUp' && options.caughtUp === true) {
                const { revision, position } = frame.value;
                yield { caughtUp: true, revision, position } as T;
              }
            }
          }
          // The server ended the stream without an error; a tail never ends by itself.
          error = progressDBError({
            code: Status.UNAVAILABLE,
            details: 'the server ended the tail',
            method: this.#source.method,
          });
        } catch (failure) {
          error = failure;
        }
        if (signal.aborted) return;
        if (!isTailResumable(error) || failures >= policy.maxTailReconnects) throw error;
        failures++;
        const retryAfterMs = error instanceof RateLimitedError ? (error.retryAfterMs ?? 0) : 0;
        const delayMs = Math.max(retryAfterMs, backoffMs(policy, failures));
        if (deadlineAt !== undefined && Date.now() + delayMs >= deadlineAt) throw error;
        options.onReconnect?.({
          error: error as ProgressDBError,
          attempt: failures,
          delayMs,
          cursor: this.#cursor,
        });
        try {
          await sleep(delayMs, signal);
        } catch {
          return;
        }
      }
    } finally {
      stop.dispose();
    }
  }
}
