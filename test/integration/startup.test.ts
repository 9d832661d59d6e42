import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from '../support/test-server.js';

void test('a gRPC address in use stops the start with a message that says what to change', async () => {
  const first = await startTestServer();
  try {
    await assert.rejects(
      startTestServer({ env: { PROGRESSDB_LISTEN: first.address } }),
      (error: Error) =>
        error.message.startsWith(`cannot listen on ${first.address}: the address is in use`) &&
        error.message.includes('PROGRESSDB_LISTEN'),
    );
    // The first server is untouched.
    const created = await first.api().threads.createThread({ threadId: 'still-here' });
    assert.equal(created.thread?.id, 'still-here');
  } finally {
    await first.close();
  }
});
