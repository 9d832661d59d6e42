import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isDeepStrictEqual } from 'node:util';
import { databasePath } from '../../src/data-folder.js';
import { MESSAGE_TTL_METADATA_KEY } from '../../src/log/index.js';
import { Family, keys, RocksStore } from '../../src/storage/index.js';
import { PurgeAuditRecord } from '../../src/gen/progressdb/storage/v1/records.js';
import { failure, type Api } from '../support/api-client.js';
import { assertRebuildReproduces } from '../support/projections.js';
import { TailReader } from '../support/tail-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

function adminOf(server: TestServer): Api {
  return server.apiWith({ authorization: `Bearer ${TEST_KEYS.admin}` });
}

async function stats(admin: Api) {
  const s = await admin.admin.getStats({});
  return {
    threads: s.threads,
    deletedThreads: s.deletedThreads,
    messages: s.messages,
    deletedMessages: s.deletedMessages,
    events: s.events,
  };
}

/** Waits until the wall clock has passed `ms` (the TTL is measured against it), never less. */
async function untilClockPasses(ms: number): Promise<void> {
  while (Date.now() <= ms) await delay(Math.max(1, ms - Date.now() + 1));
}

void test('version cap: old versions lose their content, the latest are kept; dry run changes nothing', async () => {
  const server = await startTestServer({
    env: { PROGRESSDB_RETENTION_MAX_VERSIONS: '2', PROGRESSDB_RETENTION_INTERVAL_SECONDS: '0' },
  });
  const alice = server.api('alice');
  const admin = adminOf(server);
  try {
    const threadId = 'capped';
    await alice.messages.appendMessage({
      threadId,
      createThread: true,
      messageId: 'm1',
      role: 'user',
      body: 'v1',
      metadata: { n: '1' },
    });
    for (let v = 2; v <= 5; v++) {
      await alice.messages.editMessage({ threadId, messageId: 'm1', body: `v${v}` });
    }
    await alice.messages.appendMessage({ threadId, messageId: 'm2', role: 'user', body: 'only' });
    await alice.messages.addReaction({ threadId, messageId: 'm1', reaction: 'ok' });
    const before = await stats(admin);
    const headBefore = (await alice.threads.getThread({ threadId })).thread!.revision;

    const dry = await admin.admin.runRetention({ dryRun: true });
    assert.deepEqual(
      [dry.dryRun, dry.threadsPurged, dry.messagesPurged, dry.versionsPurged],
      [true, 0n, 0n, 3n],
    );
    assert.equal(
      (await alice.messages.listMessageVersions({ threadId, messageId: 'm1' })).versions.length,
      5,
    );
    assert.deepEqual(await stats(admin), before);

    const run = await admin.admin.runRetention({ dryRun: false });
    assert.deepEqual([run.dryRun, run.versionsPurged, run.messagesPurged], [false, 3n, 0n]);
    const { versions } = await alice.messages.listMessageVersions({ threadId, messageId: 'm1' });
    assert.deepEqual(
      versions.map((v) => [v.version, v.body as unknown]),
      [
        [4, 'v4'],
        [5, 'v5'],
      ],
    );
    const m1 = (await alice.messages.getMessage({ threadId, messageId: 'm1' })).message!;
    assert.equal(m1.body, 'v5');
    assert.deepEqual(
      m1.reactions.map((r) => r.reaction),
      ['ok'],
    );
    // The log keeps every revision; trimmed versions have no content left.
    const { events } = await alice.messages.readEvents({ threadId });
    const bodies = events.flatMap((event) => {
      const p = event.payload;
      return p?.$case === 'messageCreated' || p?.$case === 'messageEdited'
        ? [[p.value.message!.version, p.value.message!.body as unknown, p.value.message!.metadata]]
        : [];
    });
    assert.deepEqual(bodies.slice(0, 3), [
      [1, undefined, {}],
      [2, undefined, {}],
      [3, undefined, {}],
    ]);
    assert.deepEqual(bodies[3]?.slice(0, 2), [4, 'v4']);
    const audit = events.at(-1)!;
    assert.equal(audit.revision, headBefore + 1n);
    assert.equal(audit.payload?.$case, 'messagesPurged');
    assert.deepEqual(audit.payload?.$case === 'messagesPurged' && audit.payload.value, {
      policy: 'max_versions',
      messageIds: ['m1'],
      versionsRemoved: 3,
    });
    assert.deepEqual(await stats(admin), { ...before, events: before.events + 1n });
    // A retried append of the pruned message answers with its identity, not an error.
    const retried = await failure(
      alice.messages.appendMessage({ threadId, messageId: 'm1', role: 'user', body: 'v1' }),
    );
    assert.equal(retried.reason, 'MESSAGE_EXISTS');

    const again = await admin.admin.runRetention({ dryRun: false });
    assert.equal(again.versionsPurged, 0n);
    await server.app.close();
    await assertRebuildReproduces(server.dataDir);
  } finally {
    await server.close();
  }
});

void test('message TTL removes expired messages with their rows and counts; a thread may opt out', async () => {
  const server = await startTestServer({
    env: {
      PROGRESSDB_RETENTION_MESSAGE_TTL_SECONDS: '2',
      PROGRESSDB_RETENTION_INTERVAL_SECONDS: '0',
      PROGRESSDB_RETENTION_BATCH_SIZE: '2',
    },
  });
  const alice = server.api('alice');
  const bob = server.api('bob');
  const admin = adminOf(server);
  try {
    await alice.threads.createThread({ threadId: 'ttl', memberIds: ['bob'] });
    await alice.threads.createThread({
      threadId: 'kept',
      metadata: { [MESSAGE_TTL_METADATA_KEY]: 'off' },
    });
    const old: string[] = [];
    for (let i = 0; i < 5; i++) {
      const appended = await alice.messages.appendMessage({
        threadId: 'ttl',
        role: 'user',
        body: { old: i },
        requestId: `old-${i}`,
      });
      old.push(appended.message!.id);
    }
    await bob.messages.addReaction({ threadId: 'ttl', messageId: old[0]!, reaction: 'x' });
    await alice.messages.editMessage({ threadId: 'ttl', messageId: old[1]!, body: 'edited' });
    await alice.messages.deleteMessage({ threadId: 'ttl', messageId: old[2]! });
    await alice.messages.appendMessage({ threadId: 'kept', role: 'user', body: 'keep me' });
    const oldest = (await alice.messages.getMessage({ threadId: 'ttl', messageId: old[4]! }))
      .message!;
    await untilClockPasses(Number(oldest.createdAt!.getTime()) + 2000);

    const fresh = await bob.messages.appendMessage({
      threadId: 'ttl',
      role: 'user',
      body: 'fresh',
      replyToId: old[4]!,
    });
    const before = await stats(admin);
    const tail = new TailReader(
      alice.raw.tails.tailThread({ threadId: 'ttl', afterRevision: undefined }, alice.metadata),
    );

    const dry = await admin.admin.runRetention({ dryRun: true });
    assert.equal(dry.messagesPurged, 5n);
    assert.deepEqual(await stats(admin), before);

    const run = await admin.admin.runRetention({ dryRun: false });
    assert.equal(run.messagesPurged, 5n);
    const page = await alice.messages.listMessages({ threadId: 'ttl', includeDeleted: true });
    assert.deepEqual(
      page.messages.map((m) => m.id),
      [fresh.message!.id],
    );
    assert.equal(page.messages[0]!.replyToId, old[4]);
    for (const id of old) {
      const gone = await failure(alice.messages.getMessage({ threadId: 'ttl', messageId: id }));
      assert.equal(gone.reason, 'MESSAGE_NOT_FOUND');
    }
    const thread = (await alice.threads.getThread({ threadId: 'ttl' })).thread!;
    assert.equal(thread.messageCount, 1n);
    assert.equal(thread.lastMessage?.id, fresh.message!.id);
    // Removed: 5 creations, 1 edit, 1 deletion, 1 reaction; added: 2 audit events (batches of 2 → 3 jobs).
    const after = await stats(admin);
    assert.equal(after.messages, before.messages - 5n);
    assert.equal(after.deletedMessages, before.deletedMessages - 1n);
    assert.equal(after.events, before.events - 8n + 3n);
    assert.equal(after.threads, before.threads);
    const { events } = await alice.messages.readEvents({ threadId: 'ttl' });
    const purged = events.filter((e) => e.payload?.$case === 'messagesPurged');
    assert.deepEqual(
      purged.flatMap((e) =>
        e.payload?.$case === 'messagesPurged' ? e.payload.value.messageIds : [],
      ),
      old,
    );
    // The tail learns about the purge live.
    await tail.until(() => tail.events.some((e) => e.payload?.$case === 'messagesPurged'));
    tail.cancel();
    // The kept thread opted out.
    const kept = await alice.messages.listMessages({ threadId: 'kept' });
    assert.equal(kept.messages.length, 1);
    // A request id whose events are all gone no longer answers from the removed events.
    const requestRetry = await alice.messages.appendMessage({
      threadId: 'ttl',
      role: 'user',
      body: { old: 0 },
      requestId: 'old-0',
    });
    assert.notEqual(requestRetry.message!.id, old[0]);
    await server.app.close();
    await assertRebuildReproduces(server.dataDir);
  } finally {
    await server.close();
  }
});

void test("a thread's own TTL applies with no global policy set", async () => {
  const server = await startTestServer({ env: { PROGRESSDB_RETENTION_INTERVAL_SECONDS: '0' } });
  const alice = server.api('alice');
  const admin = adminOf(server);
  try {
    await alice.threads.createThread({
      threadId: 'own-ttl',
      metadata: { [MESSAGE_TTL_METADATA_KEY]: '1' },
    });
    await alice.threads.createThread({ threadId: 'no-ttl' });
    const old = await alice.messages.appendMessage({ threadId: 'own-ttl', role: 'user', body: 1 });
    await alice.messages.appendMessage({ threadId: 'no-ttl', role: 'user', body: 2 });
    await untilClockPasses(Number(old.message!.createdAt!.getTime()) + 1000);
    const run = await admin.admin.runRetention({ dryRun: false });
    assert.equal(run.messagesPurged, 1n);
    assert.equal((await alice.messages.listMessages({ threadId: 'own-ttl' })).messages.length, 0);
    assert.equal((await alice.messages.listMessages({ threadId: 'no-ttl' })).messages.length, 1);
  } finally {
    await server.close();
  }
});

void test('soft-deleted threads are purged after the grace period, on schedule, with an audit record', async () => {
  const server = await startTestServer({
    env: {
      PROGRESSDB_RETENTION_DELETED_THREAD_GRACE_SECONDS: '0',
      PROGRESSDB_RETENTION_INTERVAL_SECONDS: '1',
    },
  });
  const alice = server.api('alice');
  const admin = adminOf(server);
  try {
    await alice.messages.appendMessage({
      threadId: 'gone',
      createThread: true,
      role: 'user',
      body: 1,
    });
    await alice.messages.appendMessage({
      threadId: 'stays',
      createThread: true,
      role: 'user',
      body: 2,
    });
    const before = await stats(admin);
    await alice.threads.deleteThread({ threadId: 'gone' });
    const expected = {
      threads: before.threads - 1n,
      deletedThreads: before.deletedThreads,
      messages: before.messages - 1n,
      deletedMessages: before.deletedMessages,
      events: before.events - 2n,
    };
    // The scheduler runs every second: wait until the purge has finished (its last job adjusts
    // the totals), bounded.
    const deadline = Date.now() + 10_000;
    while (!isDeepStrictEqual(await stats(admin), expected)) {
      assert.ok(Date.now() < deadline, 'the scheduled retention run never purged the thread');
      await delay(50);
    }
    const gone = await failure(alice.threads.getThread({ threadId: 'gone' }));
    assert.equal(gone.reason, 'THREAD_NOT_FOUND');
    assert.equal((await alice.threads.getThread({ threadId: 'stays' })).thread!.messageCount, 1n);
    await server.app.close();
    const store = await RocksStore.open(databasePath(server.dataDir));
    try {
      const audit = store
        .scan(Family.default, keys.purgeAuditRange)
        .map((row) => PurgeAuditRecord.decode(row.value));
      assert.deepEqual(
        audit.map((a) => [a.threadId, a.reason, a.eventsRemoved]),
        [['gone', 'deleted_thread_grace', 3n]],
      );
    } finally {
      await store.close();
    }
    await assertRebuildReproduces(server.dataDir);
  } finally {
    await server.close();
  }
});

void test('appends keep flowing while a large purge runs', async () => {
  const server = await startTestServer({
    env: {
      PROGRESSDB_RETENTION_DELETED_THREAD_GRACE_SECONDS: '0',
      PROGRESSDB_RETENTION_INTERVAL_SECONDS: '0',
    },
  });
  const alice = server.api('alice');
  const admin = adminOf(server);
  try {
    for (let i = 0; i < 8; i++) {
      await alice.messages.appendMessages({
        threadId: 'big',
        createThread: i === 0,
        messages: Array.from({ length: 1000 }, (_, j) => ({ role: 'user', body: { i, j } })),
      });
    }
    await alice.threads.deleteThread({ threadId: 'big' });
    let purging = true;
    let appendedDuring = 0;
    let appended = 0;
    const purge = admin.admin.runRetention({ dryRun: false }).finally(() => {
      purging = false;
    });
    // Appends made while the purge runs complete before it ends: it never holds the writer.
    while (purging) {
      await alice.messages.appendMessage({
        threadId: 'live',
        createThread: true,
        role: 'user',
        body: 'x',
      });
      appended++;
      if (purging) appendedDuring++;
    }
    const report = await purge;
    assert.equal(report.threadsPurged, 1n);
    assert.ok(appendedDuring >= 2, `only ${appendedDuring} appends completed during the purge`);
    const gone = await failure(alice.threads.getThread({ threadId: 'big' }));
    assert.equal(gone.reason, 'THREAD_NOT_FOUND');
    const after = await stats(admin);
    assert.deepEqual([after.threads, after.messages], [1n, BigInt(appended)]);
  } finally {
    await server.close();
  }
});

void test('RunRetention is for admin keys only', async () => {
  const server = await startTestServer();
  try {
    const denied = await failure(server.api('alice').admin.runRetention({ dryRun: true }));
    assert.equal(denied.reason, 'ROLE_FORBIDDEN');
    const nothing = await adminOf(server).admin.runRetention({ dryRun: false });
    assert.deepEqual(
      [nothing.threadsPurged, nothing.messagesPurged, nothing.versionsPurged],
      [0n, 0n, 0n],
    );
  } finally {
    await server.close();
  }
});

void test('a thread TTL override must be whole seconds or off', async () => {
  const server = await startTestServer();
  const alice = server.api('alice');
  try {
    for (const value of ['soon', '0', '-5', '1.5', '']) {
      const bad = await failure(
        alice.threads.createThread({
          threadId: 'ttl-bad',
          metadata: { [MESSAGE_TTL_METADATA_KEY]: value },
        }),
      );
      assert.deepEqual(
        [bad.code, bad.metadata.field],
        [grpc.status.INVALID_ARGUMENT, `metadata.${MESSAGE_TTL_METADATA_KEY}`],
        value,
      );
    }
    await alice.threads.createThread({
      threadId: 'ttl-ok',
      metadata: { [MESSAGE_TTL_METADATA_KEY]: '86400' },
    });
    const update = await failure(
      alice.threads.updateThread({
        threadId: 'ttl-ok',
        metadata: { entries: { [MESSAGE_TTL_METADATA_KEY]: 'never' } },
      }),
    );
    assert.equal(update.metadata.field, `metadata.${MESSAGE_TTL_METADATA_KEY}`);
    const thread = (await alice.threads.getThread({ threadId: 'ttl-ok' })).thread!;
    assert.equal(thread.revision, 1n);
  } finally {
    await server.close();
  }
});
