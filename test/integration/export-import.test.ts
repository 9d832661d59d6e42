import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import {
  createClient,
  NotFoundError,
  PermissionDeniedError,
  type ExportedEvent,
  type ProgressDBClient,
} from '../../sdk/src/index.js';
import {
  BackupError,
  BackupProblem,
  exportToNdjson,
  importEvents,
  type ExportOptions,
} from '../../src/backup/index.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { as, writeWorkload } from './backup-workload.js';

let source: TestServer;
let backend: ProgressDBClient;
let admin: ProgressDBClient;
let ids: string[];
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'progressdb-export-'));
  source = await startTestServer();
  backend = createClient({ address: source.address, apiKey: TEST_KEYS.backend });
  admin = createClient({ address: source.address, apiKey: TEST_KEYS.admin });
  ids = await writeWorkload(backend, 'x');
  // One more event of the main thread after the others': its log interleaves with theirs.
  await backend.messages.append({ threadId: ids[0]!, role: 'user', body: 'late' }, as('bob'));
});

after(async () => {
  backend.close();
  admin.close();
  await source.close();
  await rm(work, { recursive: true, force: true });
});

async function collect(
  client: ProgressDBClient,
  input: Parameters<ProgressDBClient['admin']['exportEvents']>[0] = {},
): Promise<ExportedEvent[]> {
  const events: ExportedEvent[] = [];
  for await (const batch of client.admin.exportEvents(input)) events.push(...batch.events);
  return events;
}

async function exportFile(name: string, options: ExportOptions): Promise<string> {
  const file = join(work, name);
  const out = createWriteStream(file);
  await exportToNdjson(admin.admin, out, options);
  out.end();
  await finished(out);
  return file;
}

/** A thread and its messages as a reader sees them, without the server's own clock. */
async function threadState(client: ProgressDBClient, threadId: string) {
  const thread = await client.threads.get({ threadId, includeDeleted: true });
  const page = await client.messages
    .list({ threadId, pageSize: 1000, includeDeleted: true }, as('alice'))
    .catch((error: unknown) => (error as { reason?: string }).reason);
  const timeless = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value, (key, v: unknown) =>
        key === 'createdAt' || key === 'updatedAt' || key === 'lastMessage'
          ? undefined
          : typeof v === 'bigint'
            ? String(v)
            : v,
      ),
    );
  return timeless({ thread, page });
}

test('ExportEvents keeps content sealed unless asked to decrypt', async () => {
  const sealed = await collect(admin);
  assert.ok(sealed.length > 40);
  const text = JSON.stringify(sealed, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  for (const plaintext of ['hello, edited', 'a reply', '"lang"', '"model"']) {
    assert.ok(!text.includes(plaintext), `no ${plaintext} without decrypt`);
  }
  const created = sealed.filter((event) => event.kind === 'message_created');
  assert.ok(created.length > 0 && created.every((event) => event.sealed));
  assert.ok(created.every((event) => typeof event.payload?.body_sealed === 'string'));

  const opened = await collect(admin, { decrypt: true });
  assert.deepEqual(
    opened.map((event) => event.position),
    sealed.map((event) => event.position),
  );
  assert.ok(opened.every((event) => !event.sealed));
  const first = opened.find((event) => event.kind === 'message_created');
  assert.deepEqual(first?.payload?.body, { text: 'hello', n: 1 });
  assert.deepEqual(first?.payload?.metadata, { lang: 'en' });
});

test('ExportEvents resumes after a position, filters by thread, and is for admin keys only', async () => {
  const all = await collect(admin);
  const positions = all.map((event) => event.position);
  assert.deepEqual(
    positions,
    [...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    'position order',
  );
  const cut = all[10]!.position;
  assert.deepEqual(
    (await collect(admin, { afterPosition: cut })).map((event) => event.position),
    positions.slice(11),
  );
  const main = ids[0]!;
  const ofMain = await collect(admin, { threadId: main });
  assert.deepEqual(
    ofMain.map((event) => event.position),
    all.filter((event) => event.threadId === main).map((event) => event.position),
  );
  assert.deepEqual(
    ofMain.map((event) => event.revision),
    ofMain.map((_event, i) => BigInt(i + 1)),
  );
  const resumed = await collect(admin, {
    threadId: main,
    afterPosition: ofMain[4]!.position,
    decrypt: true,
  });
  assert.deepEqual(
    resumed.map((event) => event.revision),
    ofMain.slice(5).map((event) => event.revision),
  );
  for (const k of [0, 1, 7, ofMain.length - 2, ofMain.length - 1]) {
    assert.deepEqual(
      (await collect(admin, { threadId: main, afterPosition: ofMain[k]!.position })).map(
        (event) => event.revision,
      ),
      ofMain.slice(k + 1).map((event) => event.revision),
      `resumed after the event at index ${k}`,
    );
  }
  // A position between two of the thread's events (another thread's) resumes at the next one.
  const between = all.find(
    (event) =>
      event.threadId !== main &&
      event.position > ofMain[2]!.position &&
      event.position < ofMain[ofMain.length - 1]!.position,
  );
  assert.ok(between, 'the workload interleaves threads');
  assert.deepEqual(
    (await collect(admin, { threadId: main, afterPosition: between.position })).map(
      (event) => event.position,
    ),
    ofMain.filter((event) => event.position > between.position).map((event) => event.position),
  );
  await assert.rejects(collect(admin, { threadId: 'no-such-thread' }), NotFoundError);
  await assert.rejects(collect(backend), (error: unknown) => {
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.reason, 'ROLE_FORBIDDEN');
    return true;
  });
  await assert.rejects(
    (async () => {
      for await (const chunk of backend.admin.backup()) void chunk;
    })(),
    PermissionDeniedError,
  );
});

test('export then import into an empty server reproduces the threads; a second import changes nothing', async () => {
  const file = await exportFile('decrypted.ndjson', { decrypt: true });
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [
    'thread_id',
    'revision',
    'position',
    'kind',
    'timestamp',
    'actor',
    'request_id',
    'sealed',
    'payload',
  ]);

  const target = await startTestServer();
  const targetBackend = createClient({ address: target.address, apiKey: TEST_KEYS.backend });
  const targetAdmin = createClient({ address: target.address, apiKey: TEST_KEYS.admin });
  try {
    const first = await importEvents(targetBackend, file);
    assert.equal(first.total, BigInt(lines.length));
    assert.equal(first.applied, BigInt(lines.length));
    assert.equal(first.threads, ids.length);
    for (const threadId of ids) {
      assert.deepEqual(
        await threadState(targetBackend, threadId),
        await threadState(backend, threadId),
        threadId,
      );
    }
    for (const user of ['alice', 'bob', 'dave', 'erin']) {
      const list = async (client: ProgressDBClient) =>
        (await client.threads.list({ userId: user, includeDeleted: true })).threads.map(
          (thread) => thread.id,
        );
      assert.deepEqual(await list(targetBackend), await list(backend), user);
    }
    const stats = await targetAdmin.admin.getStats();
    assert.equal(stats.events, BigInt(lines.length));

    const second = await importEvents(targetBackend, file);
    assert.equal(second.applied, 0n);
    assert.equal(second.skipped, BigInt(lines.length));
    assert.equal((await targetAdmin.admin.getStats()).position, stats.position);

    // A sealed export is refused before anything is written.
    const sealedFile = await exportFile('sealed.ndjson', {});
    const empty = await startTestServer();
    const emptyBackend = createClient({ address: empty.address, apiKey: TEST_KEYS.backend });
    const emptyAdmin = createClient({ address: empty.address, apiKey: TEST_KEYS.admin });
    try {
      await assert.rejects(importEvents(emptyBackend, sealedFile), (error: unknown) => {
        assert.ok(error instanceof BackupError);
        assert.equal(error.problem, BackupProblem.invalidInput);
        assert.match(error.message, /sealed/);
        return true;
      });
      assert.equal((await emptyAdmin.admin.getStats()).events, 0n);

      // A thread of the same id that the target made itself is not the import's to continue.
      const foreign = ids[0]!;
      await emptyBackend.threads.create({ threadId: foreign, title: 'mine' }, as('alice'));
      await emptyBackend.messages.append(
        { threadId: foreign, role: 'user', body: 'local' },
        as('alice'),
      );
      const before = await threadState(emptyBackend, foreign);
      await assert.rejects(importEvents(emptyBackend, file), (error: unknown) => {
        assert.ok(error instanceof BackupError);
        assert.equal(error.problem, BackupProblem.invalidInput);
        assert.match(error.message, new RegExp(`thread ${foreign} already exists in the target`));
        return true;
      });
      assert.deepEqual(await threadState(emptyBackend, foreign), before, 'left as it was');
    } finally {
      emptyBackend.close();
      emptyAdmin.close();
      await empty.close();
    }
  } finally {
    targetBackend.close();
    targetAdmin.close();
    await target.close();
  }
});

test('an export resumed in two files imports like one', async () => {
  const all = await collect(admin);
  const middle = all[Math.floor(all.length / 2)]!.position;
  const head = await exportFile('part-1.ndjson', { decrypt: true });
  const headLines = (await readFile(head, 'utf8')).trim().split('\n');
  // Keep only the first half in part 1, as if the export had stopped there.
  const { writeFile } = await import('node:fs/promises');
  await writeFile(
    head,
    headLines
      .filter((line) => BigInt((JSON.parse(line) as { position: string }).position) <= middle)
      .map((line) => `${line}\n`)
      .join(''),
  );
  const tail = await exportFile('part-2.ndjson', { decrypt: true, afterPosition: middle });
  const target = await startTestServer();
  const targetBackend = createClient({ address: target.address, apiKey: TEST_KEYS.backend });
  try {
    await importEvents(targetBackend, head);
    await importEvents(targetBackend, tail);
    // Importing part 1 again, after part 2, adds nothing either.
    const again = await importEvents(targetBackend, head);
    assert.equal(again.applied, 0n);
    for (const threadId of ids) {
      assert.deepEqual(
        await threadState(targetBackend, threadId),
        await threadState(backend, threadId),
        threadId,
      );
    }
  } finally {
    targetBackend.close();
    await target.close();
  }
});
