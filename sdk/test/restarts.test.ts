import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawnServer, type ChildServer } from '../../test/support/child-server.js';
import { TEST_KEYS } from '../../test/support/test-server.js';
import {
  createClient,
  isCaughtUp,
  UnavailableError,
  type ProgressDBClient,
  type TailReconnect,
} from '../src/index.js';
import { follow } from './support/follow.js';
import { freePort } from './support/tcp-proxy.js';

// The server runs as a child process on a fixed port, so that it can be killed and restarted
// where the client expects it: the client keeps one channel across restarts, as in production.
let dataDir: string;
let listen: string;
let child: ChildServer | undefined;
let client: ProgressDBClient;

/** Patient retries: a restart of the child takes a second or two. */
const patient = { maxAttempts: 100, initialBackoffMs: 50, maxBackoffMs: 250 };

async function start(): Promise<void> {
  child = await spawnServer(dataDir, { PROGRESSDB_LISTEN: listen });
}

async function stop(signal: NodeJS.Signals): Promise<void> {
  await child?.stop(signal);
  child = undefined;
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'progressdb-sdk-restart-'));
  listen = `127.0.0.1:${await freePort()}`;
  await start();
  client = createClient({
    address: listen,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    retry: patient,
    defaultDeadlineMs: 60_000,
  });
});

after(async () => {
  client.close();
  await stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

test('an append in flight when the server dies is retried after the restart and lands once', async () => {
  await client.threads.create({ threadId: 'killed-mid-call' });
  const appended = client.messages.append({
    threadId: 'killed-mid-call',
    body: 'exactly once',
    requestId: 'in-flight',
  });
  // The request is on its way (or already written): kill the server under it.
  await stop('SIGKILL');
  const restarted = start();
  const { message, revision } = await appended;
  await restarted;
  assert.deepEqual(message.body, 'exactly once');

  const page = await client.messages.list({ threadId: 'killed-mid-call' });
  assert.deepEqual(
    page.messages.map((m) => m.body),
    ['exactly once'],
  );
  assert.equal(page.threadRevision, revision);
  assert.equal(revision, 2n);
});

test('an append sent while the server is down waits for it within its deadline', async () => {
  await stop('SIGTERM');
  const appended = client.messages.append({ threadId: 'sent-while-down', body: 1 });
  const early = await Promise.race([
    appended.then(() => 'answered'),
    new Promise((resolve) => setTimeout(resolve, 300, 'pending')),
  ]);
  assert.equal(early, 'pending', 'no server, so the call keeps retrying');
  await start();
  const { revision } = await appended;
  assert.equal(revision, 2n);

  // With retries off the same situation fails fast.
  await stop('SIGTERM');
  const impatient = createClient({ address: listen, apiKey: TEST_KEYS.backend, retry: false });
  try {
    const error = await impatient.threads.get({ threadId: 'sent-while-down' }).then(
      () => assert.fail('expected UNAVAILABLE'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.reason, undefined, 'no server answered, so no reason');
  } finally {
    impatient.close();
    await start();
  }
});

test('a tail across a graceful restart and a crash yields every revision exactly once', async () => {
  const threadId = 'tail-restarts';
  const reconnects: TailReconnect[] = [];
  const tail = client.tail.thread(threadId, {
    afterRevision: 0,
    caughtUp: true,
    onReconnect: (reconnect) => reconnects.push(reconnect),
  });
  await client.threads.create({ threadId });
  const seen = follow(tail);
  const eventCount = (): number => seen.items.filter((item) => !isCaughtUp(item)).length;
  const appendSome = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) await client.messages.append({ threadId, body: i });
  };

  await appendSome(5);
  await seen.until(() => eventCount() === 6);
  await stop('SIGTERM'); // graceful: the tail ends with SHUTTING_DOWN and its resume point
  await start();
  await appendSome(5);
  await seen.until(() => eventCount() === 11);
  await stop('SIGKILL'); // a crash: the connection just drops
  await start();
  await appendSome(5);
  await seen.until(() => eventCount() === 16);
  tail.close();
  assert.equal(await seen.ended, undefined);

  const revisions = seen.items.flatMap((item) => (isCaughtUp(item) ? [] : [item.revision]));
  assert.deepEqual(
    revisions,
    Array.from({ length: 16 }, (_, i) => BigInt(i + 1)),
  );
  assert.ok(reconnects.length >= 2);
  assert.ok(reconnects.every((r) => r.error instanceof UnavailableError));
  assert.ok(
    reconnects.some((r) => r.error.reason === 'SHUTTING_DOWN'),
    'the graceful stop said so',
  );
});
