import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { createClient, NotFoundError, Status, UnauthenticatedError } from '../src/index.js';
import { runQuickstart, type QuickstartResult } from './quickstart.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.close();
});

test('the quickstart runs against a real server and leaves what it printed', async () => {
  const lines: string[] = [];
  const result: QuickstartResult = await runQuickstart({
    address: server.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    print: (line) => lines.push(line),
  });
  const output = lines.join('\n');
  assert.match(output, new RegExp(`Created thread ${result.threadId}`));
  assert.match(output, /refused: FAILED_PRECONDITION REVISION_CONFLICT/);

  // Checked through the test suite's own grpc-js client, not the SDK under test.
  const api = server.api('alice');
  const { thread } = await api.threads.getThread({ threadId: result.threadId });
  assert.equal(thread?.ownerId, 'alice');
  assert.deepEqual(thread?.memberIds, ['alice', 'bob']);
  assert.equal(thread?.messageCount, 5n, 'five appends, and the stale append wrote nothing');

  const [firstId, secondId] = result.messageIds;
  assert.equal(result.repliedToId, firstId);
  const reply = await api.messages.getMessage({ threadId: result.threadId, messageId: secondId });
  assert.equal(reply.message?.replyToId, firstId);
  assert.deepEqual(reply.message?.reactions, [{ reaction: '👍', count: 1, me: true }]);
  assert.equal(result.reactedId, secondId);

  const { versions } = await api.messages.listMessageVersions({
    threadId: result.threadId,
    messageId: result.editedId,
  });
  assert.deepEqual(
    versions.map((v) => [v.version, (v.body as { text: string }).text]),
    [
      [1, 'It is, merged this morning.'],
      [2, 'It is, merged this morning and deployed to staging.'],
    ],
  );
  assert.equal(result.versions.length, 2);

  assert.deepEqual(
    result.pages.map((page) => page.length),
    [2, 2, 1],
  );
  const scrolled = [...result.pages].reverse().flat();
  assert.deepEqual(
    scrolled.map((m) => m.id),
    result.messageIds,
    'the pages, newest first, cover every message once',
  );
  assert.equal(result.conflictReason, 'REVISION_CONFLICT');
});

test('the client sends its credentials on every call and per-call metadata wins', async () => {
  const client = createClient({
    address: server.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
  });
  try {
    const { message } = await client.messages.append({
      threadId: 'sdk-metadata',
      role: 'user',
      body: { text: 'hello' },
    });
    assert.equal(message.authorId, 'alice');

    const asBob = await client.messages.append(
      { threadId: 'sdk-metadata', role: 'user', body: { text: 'hi' } },
      { metadata: { 'x-user-id': 'bob' } },
    );
    assert.equal(asBob.message.authorId, 'bob');

    const missing = await client.threads.get({ threadId: 'no-such-thread' }).then(
      () => assert.fail('expected NOT_FOUND'),
      (error: unknown) => error,
    );
    assert.ok(missing instanceof NotFoundError);
    assert.equal(missing.code, Status.NOT_FOUND);
    assert.equal(missing.reason, 'THREAD_NOT_FOUND');
  } finally {
    client.close();
  }

  const stranger = createClient({ address: server.address, apiKey: 'not-a-key-0123456789' });
  try {
    const denied = await stranger.threads.list().then(
      () => assert.fail('expected UNAUTHENTICATED'),
      (error: unknown) => error,
    );
    assert.ok(denied instanceof UnauthenticatedError);
    assert.equal(denied.reason, 'INVALID_API_KEY');
  } finally {
    stranger.close();
  }
});
