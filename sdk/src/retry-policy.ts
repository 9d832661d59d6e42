import { Status } from 'nice-grpc';
import { ProgressDBError, RateLimitedError, SubscriberTooSlowError } from './progressdb-error.js';

/**
 * How the SDK retries calls that failed before the server answered (`UNAVAILABLE`, and
 * `DEADLINE_EXCEEDED` of one attempt while the call's deadline still has time), and how tails
 * reconnect. Every field is optional; `retry: false` turns all of it off.
 */
export interface RetryOptions {
  /** Most attempts of one unary call, the first included; 1 means no retries. Default 5. */
  readonly maxAttempts?: number;
  /** The backoff before the first retry, ms; it doubles (see `backoffMultiplier`). Default 100. */
  readonly initialBackoffMs?: number;
  /** The longest backoff, ms. Default 5000. */
  readonly maxBackoffMs?: number;
  /** How much the backoff grows per retry. Default 2. */
  readonly backoffMultiplier?: number;
  /**
   * A deadline for each attempt, ms, so that a hung connection is retried while the call's own
   * deadline still has time. Default: none (an attempt may use the whole deadline).
   */
  readonly attemptTimeoutMs?: number;
  /**
   * How many times in a row a tail may fail to reconnect (without receiving anything) before it
   * gives up and throws. Default `Infinity`: a tail outlives any outage until it is closed.
   */
  readonly maxTailReconnects?: number;
}

/** {@link RetryOptions} with every default applied. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  readonly attemptTimeoutMs: number | undefined;
  readonly maxTailReconnects: number;
}

/** The defaults of every retry setting. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 5000,
  backoffMultiplier: 2,
  attemptTimeoutMs: undefined,
  maxTailReconnects: Infinity,
});

/** The policy of `retry: false`: one attempt, no reconnects (a call may still opt back in). */
export const NO_RETRY: RetryPolicy = Object.freeze({
  ...DEFAULT_RETRY,
  maxAttempts: 1,
  maxTailReconnects: 0,
});

/** `value`, or `fallback` when absent. @throws RangeError for a negative number or NaN. */
function nonNegative(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value >= 0)) {
    throw new RangeError(`retry.${name} must be a number >= 0, got ${value}`);
  }
  return value;
}

/**
 * Applies the defaults to `options` (`false` = {@link NO_RETRY}), on top of `base` when given.
 * @throws RangeError for a negative or NaN setting.
 */
export function retryPolicy(
  options: RetryOptions | false | undefined,
  base?: RetryPolicy,
): RetryPolicy {
  if (options === false) return NO_RETRY;
  const from = base ?? DEFAULT_RETRY;
  const attemptTimeoutMs =
    options?.attemptTimeoutMs === undefined
      ? from.attemptTimeoutMs
      : nonNegative(options.attemptTimeoutMs, 'attemptTimeoutMs', 0);
  return Object.freeze({
    maxAttempts: Math.max(1, nonNegative(options?.maxAttempts, 'maxAttempts', from.maxAttempts)),
    initialBackoffMs: nonNegative(
      options?.initialBackoffMs,
      'initialBackoffMs',
      from.initialBackoffMs,
    ),
    maxBackoffMs: nonNegative(options?.maxBackoffMs, 'maxBackoffMs', from.maxBackoffMs),
    backoffMultiplier: Math.max(
      1,
      nonNegative(options?.backoffMultiplier, 'backoffMultiplier', from.backoffMultiplier),
    ),
    attemptTimeoutMs,
    maxTailReconnects: nonNegative(
      options?.maxTailReconnects,
      'maxTailReconnects',
      from.maxTailReconnects,
    ),
  });
}

/**
 * The wait before retry number `retry` (1 for the first), with "equal jitter": between half and
 * all of the exponential backoff, so that many clients do not retry in step.
 */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  const exponential = policy.initialBackoffMs * policy.backoffMultiplier ** (retry - 1);
  const capped = Math.min(policy.maxBackoffMs, exponential);
  return capped / 2 + Math.random() * (capped / 2);
}

/** True for the errors a unary call is retried on: the server did not answer. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof ProgressDBError &&
    (error.code === Status.UNAVAILABLE || error.code === Status.DEADLINE_EXCEEDED)
  );
}

/** True for the errors a tail reconnects after: the connection or the server went away. */
export function isTailResumable(error: unknown): boolean {
  return (
    (error instanceof ProgressDBError && error.code === Status.UNAVAILABLE) ||
    error instanceof SubscriberTooSlowError ||
    error instanceof RateLimitedError
  );
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
