import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { runFrontendToken } from './frontend-token.js';

const FRONTEND_KEY = 'frontend-key-0123456789';
let server: TestServer;

before(async () => {
  server = await startTestServer({ env: { PROGRESSDB_FRONTEND_KEYS: FRONTEND_KEY } });
});

after(async () => {
  await server.close();
});

test('the frontend-token example: signed by the backend, confined to the user’s threads', async () => {
  const lines: string[] = [];
  const result = await runFrontendToken({
    address: server.address,
    backendKey: TEST_KEYS.backend,
    frontendKey: FRONTEND_KEY,
    userId: 'frank',
    print: (line) => lines.push(line),
  });
  assert.equal(result.token.userId, 'frank');
  assert.equal(result.authorId, 'frank');
  assert.deepEqual(result.listed, [result.threadId]);
  assert.equal(result.refusedReason, 'NOT_A_MEMBER');
  assert.equal(lines.length, 4);
});
