import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reason } from '../log/index.js';
import {
  CallRateLimiter,
  ConcurrencyLimiter,
  rateLimited,
  tooManyTails,
  TokenBucketLimiter,
  type RateLimitedCaller,
  type TakeResult,
} from './rate-limiter.js';

/** A clock tests move by hand. */
function fakeClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

function retryAfter(result: TakeResult): number {
  assert.equal(result.ok, false, 'expected a refusal');
  return result.ok ? 0 : result.retryAfterMs;
}

void test('a fresh key may spend its whole burst at once, then is refused', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 5, now: clock.now });
  for (let i = 0; i < 5; i++) assert.deepEqual(limiter.take('a'), { ok: true }, `take ${i}`);
  assert.equal(retryAfter(limiter.take('a')), 100);
  assert.deepEqual(limiter.take('b'), { ok: true }, 'keys have separate buckets');
});

void test('refills at the configured rate, never above the burst', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter({ ratePerSecond: 4, burst: 4, now: clock.now });
  for (let i = 0; i < 4; i++) limiter.take('a');
  clock.advance(500);
  assert.ok(limiter.take('a').ok);
  assert.ok(limiter.take('a').ok);
  assert.equal(retryAfter(limiter.take('a')), 250);
  clock.advance(60_000);
  for (let i = 0; i < 4; i++) assert.ok(limiter.take('a').ok, `take ${i} after a long idle`);
  assert.equal(limiter.take('a').ok, false, 'an idle minute refills to the burst, not beyond');
});

void test('retryAfterMs is exact: one ms early is refused, on time is served', () => {
  for (const ratePerSecond of [1, 3, 7, 9, 13, 100, 333, 2000, 0.5, 0.3]) {
    const clock = fakeClock(0.25);
    const limiter = new TokenBucketLimiter({ ratePerSecond, burst: 3, now: clock.now });
    for (let round = 0; round < 20; round++) {
      while (limiter.take('k').ok);
      const wait = retryAfter(limiter.take('k'));
      const full = Math.ceil(1000 / ratePerSecond);
      if (round === 0) assert.equal(wait, full, `rate ${ratePerSecond}`);
      assert.ok(wait >= 1 && wait <= full, `rate ${ratePerSecond}: ${wait}`);
      clock.advance(wait - 1);
      if (wait > 1) assert.equal(limiter.take('k').ok, false, `rate ${ratePerSecond} early`);
      clock.advance(1);
      assert.ok(limiter.take('k').ok, `rate ${ratePerSecond} round ${round}`);
    }
  }
});

void test('a cost spends several tokens; a cost above the burst waits for a full bucket', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 10, now: clock.now });
  assert.ok(limiter.take('a', 6).ok);
  assert.equal(retryAfter(limiter.take('a', 6)), 200);
  assert.ok(limiter.take('a', 4).ok);
  assert.equal(retryAfter(limiter.take('a', 50)), 1000);
  clock.advance(1000);
  assert.ok(limiter.take('a', 50).ok);
});

void test('a rate of 0 turns the limiter off', () => {
  const limiter = new TokenBucketLimiter({ ratePerSecond: 0, burst: 1 });
  for (let i = 0; i < 1000; i++) assert.ok(limiter.take('a').ok);
  assert.equal(limiter.size, 0);
});

void test('idle buckets that have refilled are dropped as others take', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 10, now: clock.now });
  for (let i = 0; i < 10; i++) limiter.take(`idle-${i}`, 5);
  assert.equal(limiter.size, 10);
  clock.advance(100);
  limiter.take('busy');
  assert.equal(limiter.size, 11, 'a bucket that is not full yet is kept');
  clock.advance(400);
  for (let i = 0; i < 5; i++) limiter.take('busy');
  assert.equal(limiter.size, 1, 'two refilled buckets go per take');
});

void test('past maxKeys the least recently used bucket goes', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter({
    ratePerSecond: 1,
    burst: 2,
    maxKeys: 3,
    now: clock.now,
  });
  for (const key of ['a', 'b', 'c']) {
    limiter.take(key);
    limiter.take(key);
  }
  limiter.take('a', 0);
  assert.ok(limiter.take('d').ok);
  assert.equal(limiter.size, 3);
  assert.ok(limiter.take('b').ok, 'b was evicted and starts with a full bucket');
  assert.equal(limiter.take('a').ok, false, 'a was used recently and kept its empty bucket');
});

void test('a clock that goes backwards refills nothing and throws nothing', () => {
  const clock = fakeClock(10_000);
  const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, now: clock.now });
  assert.ok(limiter.take('a').ok);
  clock.advance(-5000);
  assert.equal(retryAfter(limiter.take('a')), 1000);
});

void test('bad options are refused at construction', () => {
  for (const options of [
    { ratePerSecond: -1, burst: 1 },
    { ratePerSecond: Number.NaN, burst: 1 },
    { ratePerSecond: 1, burst: 0 },
    { ratePerSecond: 1, burst: 1, maxKeys: 0 },
  ]) {
    assert.throws(() => new TokenBucketLimiter(options), JSON.stringify(options));
  }
  assert.throws(() => new ConcurrencyLimiter(-1));
});

void test('the concurrency limiter caps holders per key and frees them once each', () => {
  const limiter = new ConcurrencyLimiter(2);
  const first = limiter.acquire('alice');
  const second = limiter.acquire('alice');
  assert.ok(first && second);
  assert.equal(limiter.acquire('alice'), undefined);
  assert.ok(limiter.acquire('bob'));
  first();
  first();
  assert.equal(limiter.active('alice'), 1, 'a second release of the same slot counts once');
  const third = limiter.acquire('alice');
  assert.ok(third);
  assert.equal(limiter.acquire('alice'), undefined);
  second();
  third();
  assert.equal(limiter.active('alice'), 0);
  assert.equal(limiter.size, 1, 'keys without holders take no memory');
  const unlimited = new ConcurrencyLimiter(0);
  for (let i = 0; i < 100; i++) assert.ok(unlimited.acquire('alice'));
});

const limits = {
  keyPerSecond: 10,
  keyBurst: 3,
  userPerSecond: 1,
  userBurst: 2,
  applyToAdmin: false,
  maxTailsPerUser: 1,
};
const frontend = (userId: string): RateLimitedCaller => ({ role: 'frontend', keyId: 'f', userId });

void test('call limits: a user over their bucket is refused without draining the shared key', () => {
  const clock = fakeClock();
  const calls = new CallRateLimiter(limits, clock.now);
  assert.ok(calls.take(frontend('alice')).ok);
  assert.ok(calls.take(frontend('alice')).ok);
  assert.equal(retryAfter(calls.take(frontend('alice'))), 1000);
  assert.equal(retryAfter(calls.take(frontend('alice'))), 1000);
  assert.ok(calls.take(frontend('bob')).ok, 'the key bucket still has a token for bob');
  assert.equal(retryAfter(calls.take(frontend('carol'))), 100, 'now the key bucket is empty');
  clock.advance(1000);
  assert.ok(calls.take(frontend('alice')).ok, 'the next window is served again');
});

void test('call limits: backends are limited per key only, admins only when configured', () => {
  const clock = fakeClock();
  const calls = new CallRateLimiter(limits, clock.now);
  const backend: RateLimitedCaller = { role: 'backend', keyId: 'b', userId: 'alice' };
  for (let i = 0; i < 3; i++) assert.ok(calls.take(backend).ok);
  assert.equal(calls.take(backend).ok, false);
  assert.ok(calls.take(frontend('alice')).ok, 'the backend did not spend alice’s own bucket');
  const admin: RateLimitedCaller = { role: 'admin', keyId: 'a', userId: '' };
  for (let i = 0; i < 100; i++) assert.ok(calls.take(admin).ok);
  const strict = new CallRateLimiter({ ...limits, applyToAdmin: true }, clock.now);
  for (let i = 0; i < 3; i++) assert.ok(strict.take(admin).ok);
  assert.equal(strict.take(admin).ok, false);
});

void test('call limits: tails are capped per signed user only', () => {
  const calls = new CallRateLimiter(limits);
  const release = calls.acquireTail(frontend('alice'));
  assert.ok(release);
  assert.equal(calls.acquireTail(frontend('alice')), undefined);
  assert.ok(calls.acquireTail(frontend('bob')));
  const backend: RateLimitedCaller = { role: 'backend', keyId: 'b', userId: 'alice' };
  assert.ok(calls.acquireTail(backend) && calls.acquireTail(backend));
  release();
  assert.ok(calls.acquireTail(frontend('alice')));
});

void test('refusals become RATE_LIMITED errors, the call limit with retry_after_ms', () => {
  const calls = rateLimited(250);
  assert.equal(calls.reason, Reason.rateLimited);
  assert.deepEqual(calls.metadata, { retry_after_ms: '250', limit: 'calls' });
  const tails = tooManyTails(16);
  assert.equal(tails.reason, Reason.rateLimited);
  assert.deepEqual(tails.metadata, { limit: 'tails', max: '16' });
});
