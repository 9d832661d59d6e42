import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type ProgressDBClient } from '../../sdk/src/index.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { runCli, spawnCli, type CliRunOptions } from './cli-process.js';

let server: TestServer;
let db: ProgressDBClient;
let backend: CliRunOptions;

before(async () => {
  server = await startTestServer();
  db = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'alice' });
  backend = {
    env: { PROGRESSDB_ADDRESS: server.address, PROGRESSDB_API_KEY: TEST_KEYS.backend },
  };
});

after(async () => {
  db.close();
  await server.close();
});

test('tail prints each appended message live and ends cleanly on SIGINT', async () => {
  await db.messages.append({ threadId: 'tail-live', body: 'before the tail' });
  const tail = spawnCli(['tail', 'tail-live'], backend);
  await tail.waitFor('following tail-live from revision 2', 'stderr');

  await db.messages.append({ threadId: 'tail-live', role: 'user', body: 'first live' });
  await tail.waitFor(/first live\n/);
  await db.messages.append({ threadId: 'tail-live', role: 'user', body: { text: 'second live' } });
  await tail.waitFor(/second live\n/);

  tail.child.kill('SIGINT');
  const result = await tail.exited();
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, 'only live events: the tail started at the head');
  assert.match(lines[0] ?? '', /^ {3}3 {2}\S+ \S+ {2}alice \(user\)\s+first live$/);
  assert.match(lines[1] ?? '', /^ {3}4 {2}.*second live$/);
  assert.match(result.stderr, /stopped after revision 4\n$/);
});

test('tail --from-revision replays first; --json prints each event as one line', async () => {
  await db.messages.append({ threadId: 'tail-replay', body: 'one' });
  await db.messages.append({ threadId: 'tail-replay', body: 'two' });
  const tail = spawnCli(['tail', 'tail-replay', '--from-revision', '0', '--json'], backend);
  await tail.waitFor('following tail-replay from revision 3', 'stderr');
  await db.messages.append({ threadId: 'tail-replay', body: 'three' });
  await tail.waitFor('"three"');
  tail.child.kill('SIGINT');
  const result = await tail.exited();
  assert.equal(result.code, 0, result.stderr);
  const events = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { revision: number; payload: { $case: string } });
  assert.deepEqual(
    events.map((e) => [e.revision, e.payload.$case]),
    [
      [1, 'threadCreated'],
      [2, 'messageCreated'],
      [3, 'messageCreated'],
      [4, 'messageCreated'],
    ],
  );
});

test('tail describes other events in words: edits, reactions, deletions', async () => {
  const { message } = await db.messages.append({ threadId: 'tail-events', body: 'draft' });
  const tail = spawnCli(['tail', 'tail-events'], backend);
  await tail.waitFor('following tail-events', 'stderr');
  await db.messages.edit({ threadId: 'tail-events', messageId: message.id, body: 'final' });
  await db.messages.react({ threadId: 'tail-events', messageId: message.id, reaction: 'thumbsup' });
  await db.messages.delete({ threadId: 'tail-events', messageId: message.id });
  await tail.waitFor(/deleted #2\n/);
  tail.child.kill('SIGINT');
  const result = await tail.exited();
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\s*\d+ {2}\S+ \S+ {2}/, '')),
    ['alice edited #2: final', 'alice reacted thumbsup to #2', 'alice deleted #2'],
  );
});

test('tail resumes after the server restarts, without gaps or repeats', async () => {
  await db.messages.append({ threadId: 'tail-restart', body: 'm1' });
  const tail = spawnCli(['tail', 'tail-restart'], backend);
  await tail.waitFor('following tail-restart', 'stderr');
  await db.messages.append({ threadId: 'tail-restart', body: 'm2' });
  await tail.waitFor(/m2\n/);

  // Same data folder, and the same port, so the tail's address stays valid.
  const port = server.app.port;
  db.close();
  await server.app.close();
  server = await startTestServer({
    dataDir: server.dataDir,
    env: { PROGRESSDB_LISTEN: `127.0.0.1:${port}` },
  });
  db = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'alice' });
  await tail.waitFor('reconnecting', 'stderr');
  await db.messages.append({ threadId: 'tail-restart', body: 'm3' });
  await tail.waitFor(/m3\n/);

  tail.child.kill('SIGINT');
  const result = await tail.exited();
  assert.equal(result.code, 0, result.stderr);
  const bodies = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/\s+/).at(-1));
  assert.deepEqual(bodies, ['m2', 'm3']);
});

test('tail of an unknown thread: plain words and exit 1', async () => {
  const result = await runCli(['tail', 'no-such-thread'], backend);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'progressdb: thread no-such-thread not found (THREAD_NOT_FOUND)\n');
});
