/**
 * 10,000 tails opened, fed and cancelled against one child server, in waves: the tail hub must count
 * no subscriber once they are gone, and the server's resident memory must not grow with the number
 * of tails that came and went.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Api } from '../support/api-client.js';
import { rssBytes, spawnServer } from '../support/child-server.js';
import { TailReader } from '../support/tail-client.js';
import { TEST_KEYS } from '../support/test-server.js';

const WAVES = 10;
const TAILS_PER_WAVE = 1000;
const CONNECTIONS = 4;
/** The server's old-generation cap: twice what it needs (~50 MB of heap after a collection). */
const HEAP_CAP_MB = 128;
/**
 * RSS moves with the garbage collector's mood: the median of the last three waves may exceed that of
 * waves 2–4 (allocators warm) by this much, not more. A leak of 10,000 subscribers would not fit.
 */
const RSS_GROWTH_LIMIT_BYTES = 64 * 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function liveSubscribers(admin: Api): Promise<bigint> {
  const stats = await admin.admin.getStats({});
  return stats.subscribers.reduce((sum, s) => sum + s.count, 0n);
}

/** Asks again until the hub counts `expected`; the hub drops a subscriber as its stream closes. */
async function waitForSubscribers(admin: Api, expected: bigint): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, 100)) {
    const count = await liveSubscribers(admin);
    if (count === expected) return;
    if (Date.now() > deadline) assert.fail(`the hub counts ${count} subscribers, not ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

test(`${WAVES * TAILS_PER_WAVE} tails opened and cancelled leave no subscriber and no memory behind`, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-tail-memory-'));
  const child = await spawnServer(dataDir, {
    PROGRESSDB_DURABILITY: 'os',
    PROGRESSDB_MAX_TAILS_PER_USER: '0',
    // V8 grows its heap lazily, so RSS alone would rise for a while even without a leak. With the
    // old generation capped, garbage must be collected, and a real leak would run out of heap.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_CAP_MB}`.trim(),
  });
  const pid = child.process.pid ?? 0;
  const apis = Array.from({ length: CONNECTIONS }, () =>
    connect(child.address, { authorization: `Bearer ${TEST_KEYS.backend}`, 'x-user-id': 'alice' }),
  );
  const writer = apis[0]!;
  const admin = connect(child.address, { authorization: `Bearer ${TEST_KEYS.admin}` });
  const rss: number[] = [];
  try {
    await writer.threads.createThread({ threadId: 'tm-0' });
    for (let wave = 0; wave < WAVES; wave++) {
      const tails = Array.from({ length: TAILS_PER_WAVE }, (_, i) => {
        const api = apis[i % CONNECTIONS]!;
        switch (i % 3) {
          case 0:
            return new TailReader(api.raw.tails.tailThread({ threadId: 'tm-0' }, api.metadata));
          case 1:
            return new TailReader(api.raw.tails.tailUser({ userId: 'alice' }, api.metadata));
          default:
            return new TailReader(
              api.raw.tails.tailAll({ threadIdPrefix: 'tm-', eventTypes: [] }, api.metadata),
            );
        }
      });
      await Promise.all(tails.map((tail) => tail.until(() => tail.items.length > 0)));
      await waitForSubscribers(admin, BigInt(TAILS_PER_WAVE));
      // Every tail gets one live event before it goes.
      const { revision } = await writer.messages.appendMessage({
        threadId: 'tm-0',
        role: 'user',
        body: { wave },
      });
      await Promise.all(
        tails.map((tail) => tail.until(() => tail.events.some((e) => e.revision === revision))),
      );
      for (const tail of tails) tail.cancel();
      await Promise.all(tails.map((tail) => tail.ended));
      await waitForSubscribers(admin, 0n);
      rss.push(rssBytes(pid));
    }
    const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
    console.log(
      `server RSS after each wave of ${TAILS_PER_WAVE} tails (MiB): ${rss.map(mib).join(' ')}`,
    );
    const warm = median(rss.slice(1, 4));
    const last = median(rss.slice(-3));
    assert.ok(
      last - warm < RSS_GROWTH_LIMIT_BYTES,
      `RSS grew from a median of ${mib(warm)} MiB (waves 2-4) to ${mib(last)} MiB (last 3)`,
    );
  } finally {
    for (const api of apis) api.close();
    admin.close();
    await child.stop('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
});
