import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Family } from './column-families.js';
import {
  GroupCommitWriter,
  WriterClosedError,
  type GroupCommitInfo,
} from './group-commit-writer.js';
import { RocksStore } from './rocks-store.js';

let dir: string;
let store: RocksStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'progressdb-writer-'));
  store = await RocksStore.open(dir);
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const key = (text: string) => Buffer.from(text);

test('jobs submitted together commit as one group, in order, and see each other’s writes', async () => {
  const commits: { published: number[]; info: GroupCommitInfo }[] = [];
  const writer = new GroupCommitWriter<number>(store, {
    sync: true,
    maxGroupCommands: 1000,
    onCommit: (published, info) => commits.push({ published, info }),
  });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      writer.submit((tx) => {
        const previous = tx.get(Family.default, key('counter'));
        const next = (previous ? previous.readUInt32BE() : 0) + 1;
        const value = Buffer.alloc(4);
        value.writeUInt32BE(next);
        tx.put(Family.default, key('counter'), value);
        tx.publish(i);
        return { next, position: tx.nextPosition() };
      }),
    ),
  );
  assert.deepEqual(
    results.map((result) => result.next),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  assert.equal(commits.length, 1, 'one group commit');
  assert.equal(commits[0]?.info.commands, 50);
  assert.equal(commits[0]?.info.sync, true);
  assert.deepEqual(
    commits[0]?.published,
    Array.from({ length: 50 }, (_, i) => i),
  );
  const positions = results.map((result) => result.position);
  assert.deepEqual(
    positions,
    Array.from({ length: 50 }, (_, i) => BigInt(i + 1)),
  );
  assert.equal(writer.position, 50n);
  assert.equal(store.get(Family.default, key('counter'))?.readUInt32BE(), 50);
  await writer.close();
});

test('a failing job is rolled back alone: its writes and positions vanish, the others commit', async () => {
  const writer = new GroupCommitWriter<never>(store, { sync: false, maxGroupCommands: 1000 });
  const start = writer.position;
  const outcomes = await Promise.allSettled([
    writer.submit((tx) => {
      tx.put(Family.events, key('kept-1'), key('v'));
      return tx.nextPosition();
    }),
    writer.submit((tx) => {
      tx.put(Family.events, key('dropped'), key('v'));
      tx.put(Family.events, key('kept-1'), key('clobbered'));
      tx.nextPosition();
      throw new Error('refused');
    }),
    writer.submit((tx) => {
      assert.equal(tx.get(Family.events, key('dropped')), undefined);
      assert.deepEqual(tx.get(Family.events, key('kept-1')), key('v'), 'the earlier job’s value');
      tx.put(Family.events, key('kept-2'), key('v'));
      return tx.nextPosition();
    }),
  ]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(
    outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])),
    [start + 1n, start + 2n],
  );
  assert.equal(store.get(Family.events, key('dropped')), undefined);
  assert.deepEqual(store.get(Family.events, key('kept-1')), key('v'));
  assert.ok(store.get(Family.events, key('kept-2')));
  await writer.close();
});

test('close commits what is queued, then refuses new jobs', async () => {
  const writer = new GroupCommitWriter<never>(store, { sync: true, maxGroupCommands: 2 });
  const queued = Array.from({ length: 5 }, (_, i) =>
    writer.submit((tx) => tx.put(Family.events, key(`queued-${i}`), key('v'))),
  );
  const closed = writer.close();
  await Promise.all(queued);
  await closed;
  for (let i = 0; i < 5; i++) assert.ok(store.get(Family.events, key(`queued-${i}`)));
  await assert.rejects(
    writer.submit(() => undefined),
    WriterClosedError,
  );
});

test('counters survive a new writer on the same store', async () => {
  const first = new GroupCommitWriter<never>(store, { sync: true, maxGroupCommands: 10 });
  const position = await first.submit((tx) => tx.nextPosition());
  const thread = await first.submit((tx) => tx.nextThreadNumber());
  await first.close();
  const second = new GroupCommitWriter<never>(store, { sync: true, maxGroupCommands: 10 });
  assert.equal(await second.submit((tx) => tx.nextPosition()), position + 1n);
  assert.equal(await second.submit((tx) => tx.nextThreadNumber()), thread + 1n);
  await second.close();
});
