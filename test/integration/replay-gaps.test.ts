import assert from 'node:assert/strict';
import { test } from 'node:test';
import { databasePath } from '../../src/data-folder.js';
import { Family, keys, RocksStore } from '../../src/storage/index.js';
import { TailReader } from '../support/tail-client.js';
import { startTestServer } from '../support/test-server.js';

// An event can go between a replay's read of the position index and its read of the events (a
// purge, retention): the replay must go on past it, not take the short page for the end.
void test('a global replay continues past a page that lost events, to the end', async () => {
  let server = await startTestServer();
  const alice = server.api('alice');
  await alice.messages.appendMessages({
    threadId: 'gappy',
    createThread: true,
    messages: Array.from({ length: 700 }, (_, i) => ({ role: 'user', body: i })),
  });
  const head = (await alice.threads.getThread({ threadId: 'gappy' })).thread!;
  await server.app.close();
  // Remove one event but keep its position row: what a concurrent purge leaves for a moment.
  const store = await RocksStore.open(databasePath(server.dataDir));
  try {
    const number = keys.readU64(store.get(Family.indexes, keys.threadIdIndexKey('gappy'))!);
    store.write([{ type: 'del', family: Family.events, key: keys.eventKey(number, 5n) }], true);
  } finally {
    await store.close();
  }
  server = await server.restart();
  try {
    const api = server.api('alice');
    const tail = new TailReader(
      api.raw.tails.tailAll(
        { afterPosition: 0n, threadIdPrefix: '', eventTypes: [] },
        api.metadata.clone(),
      ),
    );
    await tail.until(() => tail.items.some((item) => item.kind === 'caughtUp'));
    tail.cancel();
    const revisions = tail.events.map((event) => event.revision);
    assert.equal(revisions.length, Number(head.revision) - 1);
    assert.equal(revisions.at(-1), head.revision);
    assert.ok(!revisions.includes(5n));
  } finally {
    await server.close();
  }
});
