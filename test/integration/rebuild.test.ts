import assert from 'node:assert/strict';
import { test } from 'node:test';
import { databasePath } from '../../src/data-folder.js';
import { rebuildProjections } from '../../src/log/index.js';
import { PROJECTION_FAMILIES, RocksStore } from '../../src/storage/index.js';
import { projectionSnapshot as snapshot } from '../support/projections.js';
import { startTestServer } from '../support/test-server.js';

test('rebuilding the projections from events alone reproduces them byte for byte', async () => {
  const server = await startTestServer();
  const alice = server.api('alice');
  const bob = server.api('bob');
  await alice.threads.createThread({ threadId: 'r1', title: 'One', memberIds: ['bob', 'carol'] });
  const first = await alice.messages.appendMessage({ threadId: 'r1', role: 'user', body: 'a' });
  const firstId = first.message!.id;
  await bob.messages.appendMessage({
    threadId: 'r1',
    role: 'user',
    body: { reply: true },
    replyToId: firstId,
    requestId: 'req-1',
  });
  const batch = await alice.messages.appendMessages({
    threadId: 'r1',
    requestId: 'batch-1',
    messages: [
      { role: 'assistant', body: [1, 2], metadata: { model: 'm' } },
      { role: 'assistant', body: null, messageId: 'chosen-id' },
    ],
  });
  await alice.messages.editMessage({ threadId: 'r1', messageId: firstId, body: 'a2' });
  await alice.messages.addReaction({ threadId: 'r1', messageId: firstId, reaction: '👍' });
  await bob.messages.addReaction({ threadId: 'r1', messageId: firstId, reaction: '👍' });
  await bob.messages.addReaction({ threadId: 'r1', messageId: firstId, reaction: '🎉' });
  await bob.messages.removeReaction({ threadId: 'r1', messageId: firstId, reaction: '🎉' });
  await alice.messages.deleteMessage({ threadId: 'r1', messageId: 'chosen-id' });
  await alice.messages.deleteMessage({
    threadId: 'r1',
    messageId: batch.messages[0]!.id,
  });
  await alice.threads.updateThread({ threadId: 'r1', title: 'Renamed', metadata: { entries: {} } });
  await alice.threads.addMembers({ threadId: 'r1', userIds: ['dave'] });
  await alice.threads.removeMembers({ threadId: 'r1', userIds: ['carol'] });
  for (let i = 0; i < 30; i++) {
    await bob.messages.appendMessage({
      threadId: `r-${i % 7}`,
      role: 'user',
      body: { i },
      createThread: true,
    });
  }
  await bob.threads.deleteThread({ threadId: 'r-3' });
  await server.app.close();

  const store = await RocksStore.open(databasePath(server.dataDir));
  try {
    const live = snapshot(store);
    assert.ok((live.get('tails') ?? []).length > 30, 'the workload wrote projections');
    const folded = rebuildProjections(store);
    assert.ok(folded > 40);
    const rebuilt = snapshot(store);
    for (const family of PROJECTION_FAMILIES) {
      assert.deepEqual(rebuilt.get(family), live.get(family), `family ${family}`);
    }
  } finally {
    await store.close();
    await server.close();
  }
});
