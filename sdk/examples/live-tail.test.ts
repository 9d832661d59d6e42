import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { runLiveTail } from './live-tail.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.close();
});

test('the live-tail example sees every event once, in order, and reports its cursor', async () => {
  const lines: string[] = [];
  const result = await runLiveTail({
    address: server.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    messages: 4,
    print: (line) => lines.push(line),
  });
  assert.deepEqual(result.revisions, [1n, 2n, 3n, 4n, 5n]);
  assert.equal(result.cursor, 5n);
  assert.match(lines.join('\n'), /caught up at revision 1/);
  assert.match(lines.join('\n'), /#5 bob: \{"text":"message 4"\}/);
  assert.match(lines.at(-1) ?? '', /afterRevision: 5n/);
  // break closed the stream: the server lets go of the subscription.
  while (server.app.tails.stats().subscribers.thread > 0) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
});
