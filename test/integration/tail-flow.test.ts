import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { StalledTail } from '../support/stalled-tail.js';
import { TailReader } from '../support/tail-client.js';
import { backendMetadata as metadata, startTestServer, TEST_KEYS } from '../support/test-server.js';

test('an idle tail gets heartbeats at the configured interval, carrying its position', async () => {
  const server = await startTestServer({ env: { PROGRESSDB_TAIL_HEARTBEAT_MS: '50' } });
  try {
    const api = server.api();
    const appended = await api.messages.appendMessage({
      threadId: 'quiet',
      role: 'user',
      body: 1,
      createThread: true,
    });
    const tail = new TailReader(api.raw.tails.tailThread({ threadId: 'quiet' }, metadata()));
    assert.equal((await tail.next()).kind, 'caughtUp');
    const beat = await tail.next();
    assert.deepEqual(beat, { kind: 'heartbeat', revision: appended.revision, position: 0n });
    const next = await api.messages.appendMessage({ threadId: 'quiet', role: 'user', body: 2 });
    await tail.until(() => tail.events.some((event) => event.revision === next.revision));
    await tail.until(
      () => tail.items.at(-1)?.kind === 'heartbeat' && tail.items.at(-2)?.kind === 'event',
    );
    assert.deepEqual(tail.items.at(-1), {
      kind: 'heartbeat',
      revision: next.revision,
      position: 0n,
    });
    tail.cancel();
  } finally {
    await server.close();
  }
});

test('a stalled tail is dropped with SUBSCRIBER_TOO_SLOW and its resume point; others and the writer go on', async () => {
  const server = await startTestServer({ env: { PROGRESSDB_TAIL_MAX_BUFFERED_EVENTS: '50' } });
  try {
    const api = server.api();
    await api.threads.createThread({ threadId: 'flood' });
    const stalled = new StalledTail(
      server.address,
      { threadId: 'flood' },
      { authorization: `Bearer ${TEST_KEYS.backend}` },
    );
    const healthy = new TailReader(api.raw.tails.tailThread({ threadId: 'flood' }, metadata()));
    await healthy.until(() => healthy.items.length > 0);
    while (server.app.tails.stats().subscribers.thread < 2) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    stalled.stall();
    const body = { text: 'x'.repeat(16 * 1024) };
    let last = 0n;
    for (let i = 0; i < 40; i++) {
      const batch = Array.from({ length: 25 }, () => ({ role: 'user', body }));
      last = (await api.messages.appendMessages({ threadId: 'flood', messages: batch })).revision;
    }
    // Every append above completed while the stalled tail was not reading: the writer never waits.
    await healthy.until(() => healthy.events.at(-1)?.revision === last);
    assert.deepEqual(
      healthy.events.map((event) => event.revision),
      Array.from({ length: 1000 }, (_, i) => BigInt(i + 2)),
    );
    const end = await stalled.finish();
    assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(end.reason, 'SUBSCRIBER_TOO_SLOW');
    assert.ok(end.revisions.length < 1000, 'the stalled tail was ended before the end');
    assert.deepEqual(
      end.revisions,
      Array.from({ length: end.revisions.length }, (_, i) => BigInt(i + 2)),
      'what it got is a gap-free prefix',
    );
    assert.equal(end.metadata.last_revision, String(end.revisions.at(-1) ?? 1n));
    assert.equal(server.app.tails.stats().dropped, 1);
    assert.equal(server.app.tails.stats().subscribers.thread, 1);
    healthy.cancel();
  } finally {
    await server.close();
  }
});
