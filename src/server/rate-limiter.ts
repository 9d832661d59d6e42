import { ProgressDbError, Reason } from '../log/index.js';
import type { Role } from './api-keys.js';

/** A monotonic clock in milliseconds; `performance.now` unless a test injects a fake. */
export type Clock = () => number;

/** The answer of a rate limiter: go ahead, or come back in `retryAfterMs`. */
export type TakeResult =
  { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/** Options of {@link TokenBucketLimiter}. */
export interface TokenBucketOptions {
  /** Tokens refilled per second into each bucket; 0 turns the limiter off (every take succeeds). */
  readonly ratePerSecond: number;
  /** Bucket size: the most tokens one key can spend at once after being idle. At least 1. */
  readonly burst: number;
  /** Most buckets kept; past it the least recently used one is dropped. Default 100000. */
  readonly maxKeys?: number;
  /** Default `performance.now`. */
  readonly now?: Clock;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const OK: TakeResult = Object.freeze({ ok: true });
const NO_RELEASE = (): void => undefined;
/** Slack for floating-point refill sums, in tokens, used alike when taking and when computing the wait. */
const EPSILON = 1e-6;
/** Idle full buckets dropped per take: amortised cleanup without a timer. */
const SWEEP_PER_TAKE = 2;

/**
 * Token buckets keyed by string (an API key id, a user id): each key may spend `burst` tokens at once
 * and regains `ratePerSecond` per second. Memory stays bounded: buckets that have refilled completely
 * are dropped as they age (a fresh bucket is full, so nothing is lost), and past `maxKeys` the least
 * recently used bucket goes. Never throws on `take`.
 */
export class TokenBucketLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: Clock;
  /** Insertion order is recency order: a take moves its bucket to the end. */
  readonly #buckets = new Map<string, Bucket>();

  /** @throws Error when a rate, burst or key count is out of range. */
  constructor(options: TokenBucketOptions) {
    const { ratePerSecond, burst, maxKeys = 100_000 } = options;
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond >= 0)) {
      throw new Error('ratePerSecond must be a finite number >= 0');
    }
    if (!(Number.isFinite(burst) && burst >= 1)) throw new Error('burst must be a number >= 1');
    if (!(Number.isSafeInteger(maxKeys) && maxKeys >= 1)) {
      throw new Error('maxKeys must be a positive integer');
    }
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Buckets held right now. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Spends `cost` tokens of `key`'s bucket if it has them. A cost above the burst is charged as the
   * whole burst, so it can succeed once the bucket is full rather than never.
   * @returns `{ ok: true }`, or `{ ok: false, retryAfterMs }`: the whole milliseconds until the same
   *   take would succeed if nothing else spends from the bucket meanwhile (at least 1).
   */
  take(key: string, cost = 1): TakeResult {
    if (this.#ratePerMs === 0) return OK;
    const now = this.#now();
    const need = Math.min(Math.max(cost, 0), this.#burst);
    const bucket = this.#buckets.get(key);
    let tokens = this.#burst;
    if (bucket !== undefined) {
      tokens = this.#level(bucket, now);
      this.#buckets.delete(key);
    }
    this.#sweep(now);
    if (tokens + EPSILON >= need) {
      this.#store(key, { tokens: Math.max(tokens - need, 0), updatedMs: now });
      return OK;
    }
    this.#store(key, { tokens, updatedMs: now });
    const waitMs = Math.ceil((need - tokens - EPSILON) / this.#ratePerMs);
    return { ok: false, retryAfterMs: Math.max(1, waitMs) };
  }

  #level(bucket: Bucket, now: number): number {
    const elapsedMs = Math.max(now - bucket.updatedMs, 0);
    return Math.min(this.#burst, bucket.tokens + elapsedMs * this.#ratePerMs);
  }

  #store(key: string, bucket: Bucket): void {
    if (this.#buckets.size >= this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done !== true) this.#buckets.delete(oldest.value);
    }
    this.#buckets.set(key, bucket);
  }

  /** Drops the least recently used buckets that have refilled completely. */
  #sweep(now: number): void {
    for (let i = 0; i < SWEEP_PER_TAKE; i++) {
      const oldest = this.#buckets.entries().next();
      if (oldest.done === true) return;
      const [key, bucket] = oldest.value;
      if (this.#level(bucket, now) + EPSILON < this.#burst) return;
      this.#buckets.delete(key);
    }
  }
}

/**
 * Caps concurrent holders per key (open tails per user). Keys without holders take no memory.
 * Never throws on `acquire`.
 */
export class ConcurrencyLimiter {
  readonly #max: number;
  readonly #held = new Map<string, number>();

  /** @param max most concurrent holders per key; 0 means no cap. @throws Error when negative. */
  constructor(max: number) {
    if (!(Number.isSafeInteger(max) && max >= 0)) throw new Error('max must be an integer >= 0');
    this.#max = max;
  }

  /**
   * Takes a slot for `key`.
   * @returns a release function (safe to call more than once; only the first call counts), or
   *   undefined when `key` already holds the maximum.
   */
  acquire(key: string): (() => void) | undefined {
    const held = this.#held.get(key) ?? 0;
    if (this.#max > 0 && held >= this.#max) return undefined;
    this.#held.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.#held.get(key) ?? 1) - 1;
      if (now <= 0) this.#held.delete(key);
      else this.#held.set(key, now);
    };
  }

  /** Slots `key` holds now. */
  active(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** Keys holding at least one slot. */
  get size(): number {
    return this.#held.size;
  }
}

/** The rate-limit settings of `Config.rateLimits`. */
export interface CallRateLimits {
  readonly keyPerSecond: number;
  readonly keyBurst: number;
  readonly userPerSecond: number;
  readonly userBurst: number;
  readonly applyToAdmin: boolean;
  readonly maxTailsPerUser: number;
}

/** Who is calling, as far as rate limits care: a slice of `CallContext`. */
export interface RateLimitedCaller {
  readonly role: Role;
  /** Public id of the API key. */
  readonly keyId: string;
  /** The user the call acts for; '' for none. */
  readonly userId: string;
}

/**
 * The server's rate limits in one place: a bucket per API key, and for frontend calls a bucket per
 * signed user and a cap on that user's concurrent tails. Backend calls acting for a user (`x-user-id`)
 * are bounded by their key alone: the backend is trusted, and a service acting for a busy bot user
 * should spend its own budget, not a person's. Data flow: authenticated call ⇒ take (⇒ acquireTail)
 * ⇒ handler.
 */
export class CallRateLimiter {
  readonly #perKey: TokenBucketLimiter;
  readonly #perUser: TokenBucketLimiter;
  readonly #tails: ConcurrencyLimiter;
  readonly #applyToAdmin: boolean;
  /** The cap on one user's concurrent tails (0: none). */
  readonly maxTailsPerUser: number;

  /** @throws Error when a setting is out of range. */
  constructor(limits: CallRateLimits, now?: Clock) {
    this.maxTailsPerUser = limits.maxTailsPerUser;
    const clock = now === undefined ? {} : { now };
    this.#perKey = new TokenBucketLimiter({
      ratePerSecond: limits.keyPerSecond,
      burst: limits.keyBurst,
      ...clock,
    });
    this.#perUser = new TokenBucketLimiter({
      ratePerSecond: limits.userPerSecond,
      burst: limits.userBurst,
      ...clock,
    });
    this.#tails = new ConcurrencyLimiter(limits.maxTailsPerUser);
    this.#applyToAdmin = limits.applyToAdmin;
  }

  /**
   * Charges one call to the caller's user bucket (frontend callers), then to its key bucket. The
   * user goes first so a user over their limit does not drain the key all its users share. Admin
   * keys pass untouched unless `applyToAdmin`.
   */
  take(caller: RateLimitedCaller, cost = 1): TakeResult {
    if (caller.role === 'admin' && !this.#applyToAdmin) return OK;
    if (caller.role === 'frontend' && caller.userId !== '') {
      const user = this.#perUser.take(caller.userId, cost);
      if (!user.ok) return user;
    }
    return this.#perKey.take(caller.keyId, cost);
  }

  /**
   * Takes a tail slot for a frontend caller's user; other callers get a slot that costs nothing.
   * @returns the release function (idempotent) to call when the tail ends however it ends, or
   *   undefined when the user already holds `maxTailsPerUser` tails.
   */
  acquireTail(caller: RateLimitedCaller): (() => void) | undefined {
    if (caller.role !== 'frontend' || caller.userId === '') return NO_RELEASE;
    return this.#tails.acquire(caller.userId);
  }
}

/** Error metadata key of the retry hint (milliseconds, decimal), as errors.proto documents it. */
export const RETRY_AFTER_MS = 'retry_after_ms';

/** The error for a call a token bucket refused: `RATE_LIMITED` with the retry hint. */
export function rateLimited(retryAfterMs: number): ProgressDbError {
  return new ProgressDbError(Reason.rateLimited, `rate limited; retry in ${retryAfterMs} ms`, {
    [RETRY_AFTER_MS]: String(retryAfterMs),
    limit: 'calls',
  });
}

/** The error for a tail over the per-user cap: `RATE_LIMITED`; a slot frees when another tail ends. */
export function tooManyTails(maxTailsPerUser: number): ProgressDbError {
  return new ProgressDbError(
    Reason.rateLimited,
    `at most ${maxTailsPerUser} tails per user may be open at once`,
    { limit: 'tails', max: String(maxTailsPerUser) },
  );
}
