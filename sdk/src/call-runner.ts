import { Metadata, type CallOptions as NiceCallOptions, type MetadataInit } from 'nice-grpc';
import { cancelled, deadlineExceeded, fromClientError } from './error-details.js';
import {
  backoffMs,
  isTransient,
  retryPolicy,
  sleep,
  type RetryOptions,
  type RetryPolicy,
} from './retry-policy.js';

/** Options every call takes as its last argument. */
export interface CallOptions {
  /** Cancels the call: a unary call rejects with `CancelledError`, a tail ends quietly. */
  readonly signal?: AbortSignal;
  /**
   * The call's deadline in ms from now, retries included; `Infinity` for none. Default: the
   * client's `defaultDeadlineMs` for unary calls, none for tails and other streams.
   */
  readonly deadlineMs?: number;
  /** Extra request headers for this call; they win over the client's own (`x-user-id`, …). */
  readonly metadata?: MetadataInit;
  /** This call's retry settings, on top of the client's; `false` for a single attempt. */
  readonly retry?: RetryOptions | false;
}

/**
 * Whether a call may be sent again after a failure without an answer: `'retry'` for reads and for
 * writes that carry a request id (the server answers a repeat with the original result), `'once'`
 * for everything else.
 */
export type Safety = 'retry' | 'once';

/** What nice-grpc needs for one attempt of a call. */
type Invoke<T> = (options: NiceCallOptions) => T;

/** The longest delay `setTimeout` honours; longer deadlines are treated as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A signal that aborts when one of `parents` does or when `timeoutMs` passes, and what aborted it. */
export class LinkedSignal {
  readonly #controller = new AbortController();
  #cause: 'caller' | 'timeout' | undefined;
  readonly #parents: readonly AbortSignal[];
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onAbort = (): void => this.abort('caller');

  constructor(parents: readonly (AbortSignal | undefined)[], timeoutMs?: number) {
    this.#parents = parents.filter((parent) => parent !== undefined);
    for (const parent of this.#parents) {
      parent.addEventListener('abort', this.#onAbort, { once: true });
      if (parent.aborted) this.abort('caller');
    }
    this.#timer =
      timeoutMs === undefined || timeoutMs > MAX_TIMER_MS
        ? undefined
        : setTimeout(() => this.abort('timeout'), Math.max(0, timeoutMs));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** What aborted the signal: a parent (`'caller'`), the timeout, or nothing yet. */
  get cause(): 'caller' | 'timeout' | undefined {
    return this.#cause;
  }

  abort(cause: 'caller' | 'timeout'): void {
    this.#cause ??= cause;
    this.#controller.abort();
  }

  /** Stops the timer and lets go of the parents. */
  dispose(): void {
    clearTimeout(this.#timer);
    for (const parent of this.#parents) parent.removeEventListener('abort', this.#onAbort);
  }
}

/** The client-wide settings a {@link CallRunner} applies to every call. */
export interface CallDefaults {
  /** Sent on every call: authorization and identity. */
  readonly headers: Readonly<Record<string, string>>;
  /** Unary calls' deadline, ms; `undefined` for none. */
  readonly deadlineMs: number | undefined;
  readonly retry: RetryPolicy;
}

/**
 * Runs calls with the client's credentials, deadlines, retries and typed errors. Every failure
 * leaves as a `ProgressDBError` subclass.
 * Data flow: group method ⇒ CallRunner (headers, deadline, retry, error mapping) ⇒ nice-grpc.
 */
export class CallRunner {
  readonly defaults: CallDefaults;
  readonly #closed = new AbortController();

  constructor(defaults: CallDefaults) {
    this.defaults = defaults;
  }

  /** Aborts when the client is closed: running calls are cancelled, tails end. */
  get closedSignal(): AbortSignal {
    return this.#closed.signal;
  }

  /** Cancels every running call and stream; later calls fail with `CancelledError`. */
  close(): void {
    this.#closed.abort();
  }

  /** The client's headers with the call's own on top. */
  metadata(extra: MetadataInit | undefined): Metadata {
    const metadata = Metadata(this.defaults.headers);
    for (const [key, values] of Metadata(extra)) metadata.set(key, values);
    return metadata;
  }

  /** The retry policy of one call. */
  policy(options: CallOptions | undefined): RetryPolicy {
    const override = options?.retry;
    if (override === undefined) return this.defaults.retry;
    return override === false ? retryPolicy(false) : retryPolicy(override, this.defaults.retry);
  }

  /** The absolute deadline (epoch ms) of a call, or `undefined` for none. */
  deadlineAt(options: CallOptions | undefined, fallbackMs: number | undefined): number | undefined {
    const ms = options?.deadlineMs ?? fallbackMs;
    if (ms === undefined || ms === Infinity) return undefined;
    if (!(ms >= 0)) throw new RangeError(`deadlineMs must be >= 0, got ${ms}`);
    return Date.now() + ms;
  }

  /**
   * Runs a unary call: attempts until an answer, a non-transient error, the last attempt, or the
   * deadline; between attempts it waits a jittered backoff.
   * @throws ProgressDBError (a subclass chosen by reason) for every failure.
   */
  async unary<T>(
    method: string,
    invoke: Invoke<Promise<T>>,
    options: CallOptions | undefined,
    safety: Safety,
  ): Promise<T> {
    const policy = safety === 'retry' ? this.policy(options) : retryPolicy(false);
    const deadlineAt = this.deadlineAt(options, this.defaults.deadlineMs);
    const metadata = this.metadata(options?.metadata);
    const signal = options?.signal;
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        return await this.#attempt(method, invoke, metadata, signal, deadlineAt, policy);
      } catch (failure) {
        error = failure;
      }
      if (!isTransient(error) || attempt >= policy.maxAttempts) throw error;
      const delay = backoffMs(policy, attempt);
      if (deadlineAt !== undefined && Date.now() + delay >= deadlineAt) throw error;
      const pause = new LinkedSignal([signal, this.#closed.signal]);
      try {
        await sleep(delay, pause.signal);
      } catch {
        throw cancelled(method, signal?.reason ?? 'client closed');
      } finally {
        pause.dispose();
      }
    }
  }

  async #attempt<T>(
    method: string,
    invoke: Invoke<Promise<T>>,
    metadata: Metadata,
    signal: AbortSignal | undefined,
    deadlineAt: number | undefined,
    policy: RetryPolicy,
  ): Promise<T> {
    if (signal?.aborted) throw cancelled(method, signal.reason);
    if (this.#closed.signal.aborted) throw cancelled(method, 'the client is closed');
    const left = deadlineAt === undefined ? undefined : deadlineAt - Date.now();
    if (left !== undefined && left <= 0) throw deadlineExceeded(method, 0);
    const timeoutMs =
      policy.attemptTimeoutMs === undefined
        ? left
        : Math.min(left ?? Infinity, policy.attemptTimeoutMs);
    const attempt = new LinkedSignal([signal, this.#closed.signal], timeoutMs);
    let trailer: Metadata | undefined;
    try {
      return await invoke({
        signal: attempt.signal,
        metadata,
        onTrailer: (received) => {
          trailer = received;
        },
      });
    } catch (error) {
      if (attempt.cause === 'caller') throw cancelled(method, signal?.reason ?? 'client closed');
      if (attempt.cause === 'timeout') throw deadlineExceeded(method, timeoutMs ?? 0);
      throw fromClientError(error, trailer);
    } finally {
      attempt.dispose();
    }
  }

  /**
   * Runs one server-streaming call (no retries), yielding its messages as they arrive; `deadlineAt`
   * bounds the whole stream. Breaking out of the loop cancels the call.
   * @throws ProgressDBError for every failure, `CancelledError` when `signal` aborts.
   */
  async *stream<T>(
    method: string,
    invoke: Invoke<AsyncIterable<T>>,
    options: { signal?: AbortSignal; metadata?: MetadataInit; deadlineAt?: number | undefined },
  ): AsyncGenerator<T, void, undefined> {
    const { signal, deadlineAt } = options;
    if (signal?.aborted) throw cancelled(method, signal.reason);
    if (this.#closed.signal.aborted) throw cancelled(method, 'the client is closed');
    const left = deadlineAt === undefined ? undefined : deadlineAt - Date.now();
    if (left !== undefined && left <= 0) throw deadlineExceeded(method, 0);
    const attempt = new LinkedSignal([signal, this.#closed.signal], left);
    let trailer: Metadata | undefined;
    try {
      const messages = invoke({
        signal: attempt.signal,
        metadata: this.metadata(options.metadata),
        onTrailer: (received) => {
          trailer = received;
        },
      });
      for await (const message of messages) yield message;
    } catch (error) {
      if (attempt.cause === 'caller') throw cancelled(method, signal?.reason ?? 'client closed');
      if (attempt.cause === 'timeout') throw deadlineExceeded(method, left ?? 0);
      throw fromClientError(error, trailer);
    } finally {
      attempt.dispose();
    }
  }
}

/** The gRPC path of a method of a generated service definition: `/progressdb.v1.Service/Method`. */
export function rpcPath<S extends { fullName: string; methods: Record<string, { name: string }> }>(
  service: S,
  method: keyof S['methods'] & string,
): string {
  return `/${service.fullName}/${service.methods[method]?.name ?? method}`;
}
