import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Api } from '../support/api-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let api: Api;

before(async () => {
  server = await startTestServer({ env: { PROGRESSDB_DURABILITY: 'sync' } });
  api = server.api('alice');
});

after(() => server.close());

test('200 concurrent appends to one thread get revisions 2..201: no gap, no duplicate', async () => {
  await api.threads.createThread({ threadId: 'busy' });
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      api.messages.appendMessage({ threadId: 'busy', role: 'user', body: { i } }),
    ),
  );
  const revisions = results.map((result) => result.revision).sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(
    revisions,
    Array.from({ length: 200 }, (_, i) => BigInt(i + 2)),
  );
  for (const result of results) assert.equal(result.message?.seq, result.revision);
  const events = await api.messages.readEvents({ threadId: 'busy', limit: 1000 });
  assert.deepEqual(
    events.events.map((event) => event.revision),
    Array.from({ length: 201 }, (_, i) => BigInt(i + 1)),
  );
  const thread = await api.threads.getThread({ threadId: 'busy' });
  assert.equal(thread.thread?.revision, 201n);
  assert.equal(thread.thread?.messageCount, 200n);
});

test('concurrent appends across 50 threads: positions strictly increasing and gapless', async () => {
  const threads = Array.from({ length: 50 }, (_, i) => `fan-${i}`);
  const before = (await api.messages.readEvents({ threadId: 'busy', direction: 2, limit: 1 }))
    .events[0]?.position;
  assert.ok(before !== undefined);
  await Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      api.messages.appendMessage({
        threadId: threads[i % threads.length],
        role: 'user',
        body: { i },
        createThread: true,
      }),
    ),
  );
  const positions: bigint[] = [];
  for (const threadId of threads) {
    const { events } = await api.messages.readEvents({ threadId, limit: 1000 });
    let previous = 0n;
    for (const event of events) {
      assert.ok(event.position > previous, 'positions increase with revisions in a thread');
      previous = event.position;
      positions.push(event.position);
    }
  }
  positions.sort((a, b) => (a < b ? -1 : 1));
  assert.equal(positions.length, 550, '50 creations and 500 messages');
  assert.equal(new Set(positions).size, positions.length, 'no position is used twice');
  assert.deepEqual(
    positions,
    Array.from({ length: 550 }, (_, i) => before + BigInt(i + 1)),
  );
});
