import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../support/api-client.js';
import { spawnServer } from '../support/child-server.js';
import { startTestServer, TEST_KEYS } from '../support/test-server.js';

const backend = { authorization: `Bearer ${TEST_KEYS.backend}`, 'x-user-id': 'alice' };

test('a restart on the same folder reads back exactly what was there', async () => {
  let server = await startTestServer();
  try {
    let api = server.api();
    await api.threads.createThread({ threadId: 'kept', title: 'Kept', memberIds: ['bob'] });
    const first = await api.messages.appendMessage({ threadId: 'kept', role: 'user', body: 1 });
    await api.messages.appendMessage({ threadId: 'kept', role: 'user', body: [2] });
    await api.messages.editMessage({ threadId: 'kept', messageId: first.message?.id, body: 'one' });
    await api.messages.addReaction({
      threadId: 'kept',
      messageId: first.message?.id,
      reaction: 'ok',
    });
    const read = async () => ({
      thread: await api.threads.getThread({ threadId: 'kept' }),
      page: await api.messages.listMessages({ threadId: 'kept' }),
      versions: await api.messages.listMessageVersions({
        threadId: 'kept',
        messageId: first.message?.id,
      }),
      events: await api.messages.readEvents({ threadId: 'kept' }),
      inbox: await api.threads.listThreads({ userId: 'bob' }),
    });
    const beforeRestart = await read();
    server = await server.restart();
    api = server.api();
    assert.deepEqual(await read(), beforeRestart);
    const next = await api.messages.appendMessage({ threadId: 'kept', role: 'user', body: 3 });
    assert.equal(next.revision, beforeRestart.thread.thread!.revision + 1n);
    const positions = (await api.messages.readEvents({ threadId: 'kept' })).events.map(
      (event) => event.position,
    );
    assert.ok(positions.every((position, i) => i === 0 || position > positions[i - 1]!));
  } finally {
    await server.close();
  }
});

for (const durability of ['sync', 'os'] as const) {
  test(`SIGKILL right after acknowledged appends loses none of them (durability ${durability})`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-kill-'));
    try {
      const child = await spawnServer(dataDir, { PROGRESSDB_DURABILITY: durability });
      const api = connect(child.address, backend);
      const acknowledged: { threadId: string; id: string; revision: bigint }[] = [];
      let stopped = false;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stopped; i++) {
          try {
            const result = await api.messages.appendMessage({
              threadId: `kill-${w}`,
              role: 'user',
              body: { w, i },
              createThread: true,
            });
            acknowledged.push({
              threadId: `kill-${w}`,
              id: result.message!.id,
              revision: result.revision,
            });
          } catch {
            return;
          }
        }
      });
      while (acknowledged.length < 300) await new Promise((resolve) => setImmediate(resolve));
      const killed = await child.stop('SIGKILL');
      stopped = true;
      await Promise.all(writers);
      api.close();
      assert.equal(killed.signal, 'SIGKILL');

      const server = await startTestServer({ dataDir });
      try {
        const reader = server.api();
        for (const { threadId, id, revision } of acknowledged) {
          const { message } = await reader.messages.getMessage({ threadId, messageId: id });
          assert.equal(message?.seq, revision);
        }
        for (let w = 0; w < 8; w++) {
          const { events } = await reader.messages.readEvents({
            threadId: `kill-${w}`,
            limit: 1000,
          });
          events.forEach((event, i) => assert.equal(event.revision, BigInt(i + 1)));
        }
      } finally {
        await server.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}
