import assert from 'node:assert/strict';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createClient, type ProgressDBClient } from '../../sdk/src/index.js';
import { databasePath, MASTER_KEY_FILE_NAME } from '../../src/data-folder.js';
import {
  BackupError,
  BackupProblem,
  downloadBackup,
  restoreBackup,
  type BackupProblemCode,
} from '../../src/backup/index.js';
import { frameRecord } from '../../src/backup/backup-format.js';
import { BackupRecord } from '../../src/gen/progressdb/storage/v1/backup.js';
import { EventRecord } from '../../src/gen/progressdb/storage/v1/records.js';
import { Family, keys, RocksStore } from '../../src/storage/index.js';
import { assertRebuildReproduces } from '../support/projections.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { as, writeWorkload } from './backup-workload.js';

const clients = (server: TestServer) => ({
  backend: createClient({ address: server.address, apiKey: TEST_KEYS.backend }),
  admin: createClient({ address: server.address, apiKey: TEST_KEYS.admin }),
});

type Rows = Map<string, string>;

function rows(store: RocksStore, family: (typeof Family)[keyof typeof Family]): Rows {
  const found = new Map<string, string>();
  for (const row of store.scan(family, { gte: Buffer.alloc(0), lt: Buffer.alloc(32, 0xff) })) {
    found.set(row.key.toString('hex'), row.value.toString('hex'));
  }
  return found;
}

/** What the readers see of the given threads and users. */
async function reads(client: ProgressDBClient, threadIds: string[], users: string[]) {
  const seen: Record<string, unknown> = {};
  for (const threadId of threadIds) {
    seen[`thread ${threadId}`] = await client.threads.get({ threadId, includeDeleted: true });
    seen[`messages ${threadId}`] = await client.messages
      .list({ threadId, pageSize: 1000, includeDeleted: true }, as('alice'))
      .catch((error: unknown) => (error as { reason?: string }).reason);
  }
  for (const user of users) {
    seen[`threads of ${user}`] = (
      await client.threads.list({ userId: user, pageSize: 1000, includeDeleted: true })
    ).threads.map((thread) => thread.id);
  }
  return seen;
}

async function expectRefused(
  work: string,
  file: string,
  problem: BackupProblemCode,
  pattern: RegExp,
): Promise<void> {
  const target = join(work, `restored-${problem}-${Math.random().toString(16).slice(2)}`);
  await assert.rejects(restoreBackup({ file, dataDir: target }), (error: unknown) => {
    assert.ok(error instanceof BackupError, String(error));
    assert.equal(error.problem, problem, error.message);
    assert.match(error.message, pattern);
    return true;
  });
  const left = await readdir(work);
  assert.ok(
    !left.some((name) => name.includes('restored-')),
    `nothing is left behind: ${left.join(', ')}`,
  );
}

test('a backup taken while appends run restores every event up to its position, with identical reads', async () => {
  const work = await mkdtemp(join(tmpdir(), 'progressdb-backup-'));
  const source = await startTestServer();
  const { backend, admin } = clients(source);
  try {
    const ids = await writeWorkload(backend);
    // A purged thread leaves an audit record beside the logs: the backup carries it.
    await backend.messages.append(
      { threadId: 'doomed', role: 'user', body: 'gone', createThread: true },
      as('alice'),
    );
    await admin.admin.purgeThread({ threadId: 'doomed' });
    let appended = 0;
    let stop = false;
    // Resolved by the load loop as appends land; raced with it, so a failing append fails at once.
    let waiters: { n: number; resolve: () => void }[] = [];
    const appendedAtLeast = (n: number): Promise<void> =>
      appended >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
    const load = (async () => {
      while (!stop) {
        await backend.messages.append(
          {
            threadId: `load-${appended % 3}`,
            role: 'user',
            body: { appended },
            createThread: true,
          },
          as('loader'),
        );
        appended++;
        for (const waiter of waiters) if (appended >= waiter.n) waiter.resolve();
        waiters = waiters.filter((waiter) => appended < waiter.n);
      }
    })();
    await Promise.race([appendedAtLeast(30), load]);
    const file = join(work, 'source.pdbbak');
    const progress: bigint[] = [];
    const taken = await downloadBackup(admin.admin, file, (p) => progress.push(p.eventsDone));
    const appendedAtBackup = appended;
    await Promise.race([appendedAtLeast(appendedAtBackup + 30), load]);
    stop = true;
    await load;
    assert.ok(progress.length > 0, 'progress was reported');
    assert.ok(taken.position > 0n && taken.bytes > 0);
    const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const before = await reads(backend, ids, users);

    const restoredDir = join(work, 'restored');
    const phases = new Set<string>();
    // A master key handed over with a loose mode is restored owner-only.
    const handedOver = join(work, 'handed-over-master-keys.json');
    await copyFile(join(source.dataDir, MASTER_KEY_FILE_NAME), handedOver);
    await chmod(handedOver, 0o644);
    const restored = await restoreBackup({
      file,
      dataDir: restoredDir,
      masterKeyFile: handedOver,
      onProgress: (p) => phases.add(p.phase),
    });
    assert.deepEqual([...phases], ['reading', 'rebuilding', 'verifying', 'done']);
    const keyMode = (await stat(join(restoredDir, MASTER_KEY_FILE_NAME))).mode & 0o777;
    assert.equal(keyMode, 0o600);
    assert.equal(restored.position, taken.position);
    assert.equal(restored.events, taken.events);
    assert.equal(restored.purgeAudits, 1n);
    assert.ok(
      restored.keys > 0n && restored.keysNeedingMasterKey === 0n,
      JSON.stringify(restored, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    );

    // Reads on the restored database, served by a server started on it.
    const copy = await startTestServer({ dataDir: restoredDir });
    const restoredClients = clients(copy);
    try {
      assert.deepEqual(await reads(restoredClients.backend, ids, users), before);
      const stats = await restoredClients.admin.admin.getStats();
      assert.equal(stats.events, restored.events);
      assert.equal(stats.threads, restored.threads);
      assert.equal(stats.messages, restored.messages);
      assert.equal(stats.position, taken.position);
      // Load threads: a prefix of the source's, and their bodies decrypt.
      for (let i = 0; i < 3; i++) {
        const threadId = `load-${i}`;
        const got = await restoredClients.backend.messages.list({ threadId, pageSize: 1000 });
        const all = await backend.messages.list({ threadId, pageSize: 1000 });
        assert.deepEqual(got.messages, all.messages.slice(0, got.messages.length));
      }
      // The restored server keeps allocating after the recorded position.
      const next = await restoredClients.backend.messages.append(
        { threadId: 'after-restore', role: 'user', body: 'new', createThread: true },
        as('alice'),
      );
      assert.equal(next.message.threadId, 'after-restore');
      const head = await restoredClients.admin.admin.getStats();
      assert.ok(head.position > taken.position);
    } finally {
      restoredClients.backend.close();
      restoredClients.admin.close();
      await copy.app.close();
    }

    // Offline, byte for byte: the events up to the position, and the projections.
    backend.close();
    admin.close();
    await source.app.close();
    const sourceStore = await RocksStore.open(databasePath(source.dataDir));
    const restoredStore = await RocksStore.open(databasePath(restoredDir));
    try {
      const sourceEvents = rows(sourceStore, Family.events);
      const expected = new Map(
        [...sourceEvents].filter(
          ([, value]) => EventRecord.decode(Buffer.from(value, 'hex')).position <= taken.position,
        ),
      );
      assert.ok(expected.size < sourceEvents.size, 'appends went on past the recorded position');
      const restoredEvents = new Map(
        [...rows(restoredStore, Family.events)].filter(
          ([, value]) => EventRecord.decode(Buffer.from(value, 'hex')).position <= taken.position,
        ),
      );
      assert.deepEqual(restoredEvents, expected);
      assert.equal(BigInt(expected.size), restored.events);
      // Every version and message view restored is the source's, at the same key.
      const added = keys.readU64(
        restoredStore.get(Family.indexes, keys.threadIdIndexKey('after-restore'))!,
      );
      for (const family of [Family.versions, Family.tails, Family.keys]) {
        const original = rows(sourceStore, family);
        for (const [key, value] of rows(restoredStore, family)) {
          if (key.startsWith(keys.threadKey(added).toString('hex'))) continue;
          assert.equal(value, original.get(key), `${family} ${key}`);
        }
      }
      assert.deepEqual(
        restoredStore.scan(Family.default, keys.purgeAuditRange),
        sourceStore.scan(Family.default, keys.purgeAuditRange),
      );
      // The threads untouched since the backup have the very same thread rows.
      const sourceThreads = rows(sourceStore, Family.threads);
      const restoredThreads = rows(restoredStore, Family.threads);
      for (const threadId of ids) {
        const number = keys.readU64(
          restoredStore.get(Family.indexes, keys.threadIdIndexKey(threadId))!,
        );
        const key = keys.threadKey(number).toString('hex');
        assert.equal(restoredThreads.get(key), sourceThreads.get(key), threadId);
      }
    } finally {
      await sourceStore.close();
      await restoredStore.close();
    }
    // The restore rebuilt the projections; with a write after it they still equal a rebuild.
    await assertRebuildReproduces(restoredDir);
  } finally {
    backend.close();
    admin.close();
    await source.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('a corrupted, truncated or foreign backup is refused with a clear error and leaves nothing behind', async () => {
  const work = await mkdtemp(join(tmpdir(), 'progressdb-backup-'));
  const source = await startTestServer();
  const { backend, admin } = clients(source);
  try {
    await writeWorkload(backend);
    const file = join(work, 'good.pdbbak');
    await downloadBackup(admin.admin, file);
    const good = await readFile(file);

    const flipped = Buffer.from(good);
    const at = Math.floor(flipped.length / 2);
    flipped[at] = (flipped[at] as number) ^ 0x5a;
    await writeFile(join(work, 'flipped.pdbbak'), flipped);
    await expectRefused(work, join(work, 'flipped.pdbbak'), BackupProblem.corrupt, /corrupted/);

    // Damage that gzip cannot see: only the SHA-256 catches it.
    const plain = gunzipSync(good);
    const middle = Math.floor(plain.length / 2);
    plain[middle] = (plain[middle] as number) ^ 0x01;
    await writeFile(join(work, 'resealed.pdbbak'), gzipSync(plain));
    await expectRefused(work, join(work, 'resealed.pdbbak'), BackupProblem.corrupt, /./);

    await writeFile(join(work, 'truncated.pdbbak'), good.subarray(0, Math.floor(good.length / 2)));
    await expectRefused(work, join(work, 'truncated.pdbbak'), BackupProblem.truncated, /truncated/);

    // Cut at a record boundary inside a valid gzip: the trailer is missing.
    const withoutTrailer = gzipSync(plain.subarray(0, 8));
    await writeFile(join(work, 'short.pdbbak'), withoutTrailer);
    await expectRefused(work, join(work, 'short.pdbbak'), BackupProblem.truncated, /truncated/);

    // A backup from a newer format: its header says so, and it is refused before anything else.
    const headerLength = plain.readUInt32BE(8);
    const header = BackupRecord.decode(plain.subarray(12, 12 + headerLength));
    assert.equal(header.record?.$case, 'header');
    if (header.record?.$case === 'header') header.record.value.formatVersion = 2;
    const newer = Buffer.concat([
      plain.subarray(0, 8),
      frameRecord(header),
      plain.subarray(12 + headerLength),
    ]);
    await writeFile(join(work, 'newer.pdbbak'), gzipSync(newer));
    await expectRefused(
      work,
      join(work, 'newer.pdbbak'),
      BackupProblem.unsupportedVersion,
      /format version 2/,
    );

    // A trailer whose message count is not what the restored database holds. The checksum covers
    // what precedes the trailer, so the file reads clean: the restore's own count refuses it.
    const clean = gunzipSync(good);
    const frames: Buffer[] = [];
    for (let at = 8; at < clean.length;) {
      const length = clean.readUInt32BE(at);
      frames.push(clean.subarray(at, at + 4 + length));
      at += 4 + length;
    }
    const last = frames.pop();
    assert.ok(last);
    const trailer = BackupRecord.decode(last.subarray(4));
    assert.equal(trailer.record?.$case, 'trailer');
    if (trailer.record?.$case === 'trailer') trailer.record.value.messages += 1n;
    const miscounted = Buffer.concat([clean.subarray(0, 8), ...frames, frameRecord(trailer)]);
    await writeFile(join(work, 'miscounted.pdbbak'), gzipSync(miscounted));
    await expectRefused(
      work,
      join(work, 'miscounted.pdbbak'),
      BackupProblem.countMismatch,
      /the restored database holds \d+ messages, the backup says \d+/,
    );

    // Cancelled part way (Ctrl-C in the CLI): refused as such, and nothing is kept.
    const controller = new AbortController();
    await assert.rejects(
      restoreBackup({
        file,
        dataDir: join(work, 'restored-cancelled'),
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
      (error: unknown) =>
        error instanceof BackupError &&
        error.problem === BackupProblem.cancelled &&
        /cancelled: nothing was kept/.test(error.message),
    );
    assert.ok(!(await readdir(work)).some((name) => name.includes('restored-cancelled')));

    await writeFile(join(work, 'foreign.pdbbak'), 'hello, not a backup\n');
    await expectRefused(
      work,
      join(work, 'foreign.pdbbak'),
      BackupProblem.notABackup,
      /not a ProgressDB backup/,
    );

    const notEmpty = join(work, 'occupied');
    await mkdir(notEmpty);
    await writeFile(join(notEmpty, 'something'), 'x');
    await assert.rejects(restoreBackup({ file, dataDir: notEmpty }), (error: unknown) => {
      assert.ok(error instanceof BackupError);
      assert.equal(error.problem, BackupProblem.targetNotEmpty);
      return true;
    });
    assert.deepEqual(await readdir(notEmpty), ['something']);

    // The right file restores; a master key file that is not the source's is refused.
    const otherKeys = await startTestServer();
    try {
      await assert.rejects(
        restoreBackup({
          file,
          dataDir: join(work, 'restored-wrong-key'),
          masterKeyFile: join(otherKeys.dataDir, MASTER_KEY_FILE_NAME),
        }),
        (error: unknown) => error instanceof BackupError && /does not open/.test(error.message),
      );
    } finally {
      await otherKeys.close();
    }
    const restored = await restoreBackup({ file, dataDir: join(work, 'empty-target') });
    assert.ok(restored.keysNeedingMasterKey > 0n, 'keys without a master key are reported');
  } finally {
    backend.close();
    admin.close();
    await source.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('threads of 1,023, 1,024 and 1,025 events cross the backup page (1,024) whole', async () => {
  const work = await mkdtemp(join(tmpdir(), 'progressdb-backup-'));
  const source = await startTestServer();
  const { backend, admin } = clients(source);
  const sizes = { 'page-under': 1023, 'page-exact': 1024, 'page-over': 1025, 'page-two': 2 };
  try {
    // Each thread: its creation, then (events - 1) messages in calls of at most 100.
    for (const [threadId, events] of Object.entries(sizes)) {
      for (let done = 1; done < events; done += 100) {
        const count = Math.min(100, events - done);
        await backend.messages.appendMany(
          {
            threadId,
            createThread: true,
            messages: Array.from({ length: count }, (_, i) => ({
              role: 'user',
              body: { n: done + i },
            })),
          },
          as('alice'),
        );
      }
    }
    const file = join(work, 'pages.pdbbak');
    await downloadBackup(admin.admin, file);
    const restoredDir = join(work, 'restored');
    const restored = await restoreBackup({ file, dataDir: restoredDir });
    assert.equal(restored.events, BigInt(1023 + 1024 + 1025 + 2));

    backend.close();
    admin.close();
    await source.app.close();
    const sourceStore = await RocksStore.open(databasePath(source.dataDir));
    const restoredStore = await RocksStore.open(databasePath(restoredDir)).catch(
      async (error: unknown) => {
        await sourceStore.close();
        throw error;
      },
    );
    try {
      assert.deepEqual(rows(restoredStore, Family.events), rows(sourceStore, Family.events));
      for (const [threadId, events] of Object.entries(sizes)) {
        const number = restoredStore.get(Family.indexes, keys.threadIdIndexKey(threadId));
        assert.ok(number, threadId);
        const revisions = restoredStore
          .scan(Family.events, keys.threadRange(keys.readU64(number)))
          .map((row) => Number(keys.decodeThreadRevisionKey(row.key).revision));
        assert.deepEqual(
          revisions,
          Array.from({ length: events }, (_, i) => i + 1),
          `${threadId}: every revision, once`,
        );
      }
    } finally {
      await sourceStore.close();
      await restoredStore.close();
    }
  } finally {
    backend.close();
    admin.close();
    await source.close();
    await rm(work, { recursive: true, force: true });
  }
});
