/**
 * Crash recovery under load: a child server under concurrent appends (single and batched), a
 * global tail and one tail per thread is killed with SIGKILL at random moments, several times, in
 * each durability mode. After every kill the stopped database is checked offline, and after the
 * last one a fresh server is checked online.
 *
 * Both modes must pass: SIGKILL is a process crash, and `os` mode (no fsync) promises to survive
 * that; only a machine or power loss may cost it its last moments (docs/durability.md).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { databasePath } from '../../src/data-folder.js';
import { rebuildProjections } from '../../src/log/index.js';
import { Family, keys, PROJECTION_FAMILIES, RocksStore } from '../../src/storage/index.js';
import { connect, type Api } from '../support/api-client.js';
import { spawnServer } from '../support/child-server.js';
import { TailReader } from '../support/tail-client.js';
import { TEST_KEYS } from '../support/test-server.js';

const backend = { authorization: `Bearer ${TEST_KEYS.backend}`, 'x-user-id': 'alice' };
/** Threads of single appends, then threads of 5-message batches. */
const SINGLE_THREADS = Array.from({ length: 6 }, (_, t) => `crash-${t}`);
const BATCH_THREADS = ['crash-b0', 'crash-b1'];
const THREADS = [...SINGLE_THREADS, ...BATCH_THREADS];
const BATCH = 5;
const ROUNDS = 4;

interface Acked {
  threadId: string;
  revision: bigint;
}

/** Checks the stopped database: acknowledged appends present, gapless logs, rebuildable projections. */
async function verifyOffline(dataDir: string, acked: readonly Acked[]): Promise<void> {
  const store = await RocksStore.open(databasePath(dataDir));
  try {
    const numbers = new Map<string, bigint>();
    for (const threadId of THREADS) {
      const bytes = store.get(Family.indexes, keys.threadIdIndexKey(threadId));
      if (bytes) numbers.set(threadId, keys.readU64(bytes));
    }
    for (const { threadId, revision } of acked) {
      const number = numbers.get(threadId);
      assert.ok(number !== undefined, `${threadId} exists`);
      assert.ok(
        store.get(Family.events, keys.eventKey(number, revision)),
        `acknowledged ${threadId}@${revision} is present`,
      );
    }
    for (const number of numbers.values()) {
      const revisions = store
        .scan(Family.events, keys.threadRange(number))
        .map((row) => keys.decodeThreadRevisionKey(row.key).revision);
      assert.deepEqual(
        revisions,
        revisions.map((_, i) => BigInt(i + 1)),
        'revisions are gapless',
      );
    }
    const positions = store
      .scan(Family.indexes, keys.positionIndexRange(0n))
      .map((row) => keys.readU64(row.key, 1));
    assert.deepEqual(
      positions,
      positions.map((_, i) => BigInt(i + 1)),
      'positions are gapless and strictly increasing',
    );
    const snapshot = () =>
      PROJECTION_FAMILIES.map((family) =>
        store
          .scan(family, { gte: Buffer.alloc(0), lt: Buffer.alloc(32, 0xff) })
          .map((row) => `${row.key.toString('hex')}=${row.value.toString('hex')}`),
      );
    const live = snapshot();
    rebuildProjections(store);
    assert.deepEqual(snapshot(), live, 'projections equal a rebuild from events');
  } finally {
    await store.close();
  }
}

/** Resolves at the next turn of the event loop. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Opens the global tail and one tail per thread, each resuming where the previous round's ended. */
function openTails(api: Api, tailedPositions: bigint[], tailedRevisions: Map<string, bigint[]>) {
  const all = new TailReader(
    api.raw.tails.tailAll(
      { afterPosition: tailedPositions.at(-1) ?? 0n, threadIdPrefix: 'crash-', eventTypes: [] },
      api.metadata,
    ),
  );
  const perThread = THREADS.map(
    (threadId) =>
      [
        threadId,
        new TailReader(
          api.raw.tails.tailThread(
            { threadId, afterRevision: tailedRevisions.get(threadId)?.at(-1) ?? 0n },
            api.metadata,
          ),
        ),
      ] as const,
  );
  return { all, perThread };
}

for (const durability of ['sync', 'os'] as const) {
  test(`SIGKILL at random moments under appends and tails (durability ${durability}): nothing acknowledged is lost, batches are whole, tails resume without gaps`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-crash-'));
    const env = { PROGRESSDB_DURABILITY: durability };
    const acked: Acked[] = [];
    const tailedPositions: bigint[] = [];
    const tailedRevisions = new Map<string, bigint[]>(THREADS.map((t) => [t, []]));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const child = await spawnServer(dataDir, env);
        const api = connect(child.address, backend);
        if (round === 0) {
          for (const threadId of THREADS) {
            const { thread } = await api.threads.createThread({ threadId });
            acked.push({ threadId, revision: thread!.revision });
          }
        }
        const tails = openTails(api, tailedPositions, tailedRevisions);
        let stop = false;
        const before = acked.length;
        const singles = Array.from({ length: 10 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const threadId = SINGLE_THREADS[(w + i) % SINGLE_THREADS.length]!;
            try {
              const result = await api.messages.appendMessage({
                threadId,
                role: 'user',
                body: { w, i, round },
              });
              acked.push({ threadId, revision: result.revision });
            } catch {
              return;
            }
          }
        });
        const batches = BATCH_THREADS.map(async (threadId, w) => {
          for (let i = 0; !stop; i++) {
            try {
              const result = await api.messages.appendMessages({
                threadId,
                messages: Array.from({ length: BATCH }, (_, k) => ({
                  messageId: `b-${round}-${i}-${k}`,
                  role: 'user',
                  body: { w, i, k },
                })),
              });
              for (const message of result.messages)
                acked.push({ threadId, revision: message.seq });
            } catch {
              return;
            }
          }
        });
        // Kill after a random amount of acknowledged work, not after a fixed time. Writers that
        // all stop early (an unexpected error) fail the test instead of spinning here.
        let writing = true;
        const writers = Promise.all([...singles, ...batches]).finally(() => {
          writing = false;
        });
        const target = before + 40 + Math.floor(Math.random() * 250);
        while (acked.length < target && writing) await turn();
        assert.ok(
          acked.length >= target,
          `the writers stopped after ${acked.length - before} writes`,
        );
        const killed = await child.stop('SIGKILL');
        assert.equal(killed.signal, 'SIGKILL');
        stop = true;
        await writers;
        await tails.all.ended;
        for (const event of tails.all.events) tailedPositions.push(event.position);
        for (const [threadId, tail] of tails.perThread) {
          await tail.ended;
          tailedRevisions.get(threadId)!.push(...tail.events.map((event) => event.revision));
        }
        api.close();
        await verifyOffline(dataDir, acked);
      }

      // Once more, alive: every tail resumes exactly where it stopped and follows new writes.
      const child = await spawnServer(dataDir, env);
      const api = connect(child.address, backend);
      try {
        const tails = openTails(api, tailedPositions, tailedRevisions);
        const last = await api.messages.appendMessage({
          threadId: 'crash-0',
          role: 'user',
          body: 'after the last crash',
        });
        const isLast = (e: { threadId: string; revision: bigint }): boolean =>
          e.threadId === 'crash-0' && e.revision === last.revision;
        await tails.all.until(() => tails.all.events.some(isLast));
        for (const event of tails.all.events) tailedPositions.push(event.position);
        assert.deepEqual(
          tailedPositions,
          tailedPositions.map((_, i) => BigInt(i + 1)),
          'across every restart the global tail saw each position once, in order, without gaps',
        );
        const head0 = tails.perThread.find(([threadId]) => threadId === 'crash-0')![1];
        await head0.until(() => head0.events.some(isLast));
        for (const [threadId, tail] of tails.perThread) {
          // Caught up, each tail has sent everything up to its thread's head.
          await tail.until(() => tail.items.some((item) => item.kind === 'caughtUp'));
          const head = (await api.threads.getThread({ threadId })).thread!.revision;
          const seen = [...tailedRevisions.get(threadId)!, ...tail.events.map((e) => e.revision)];
          assert.deepEqual(
            seen,
            Array.from({ length: Number(head) }, (_, i) => BigInt(i + 1)),
            `the tail of ${threadId} saw each revision up to its head once, in order, without gaps`,
          );
        }
        for (const threadId of BATCH_THREADS) {
          const events = [];
          for (let after = 0n; ;) {
            const page = await api.messages.readEvents({
              threadId,
              afterRevision: after,
              limit: 1000,
            });
            events.push(...page.events);
            if (!page.hasMore || page.events.length === 0) break;
            after = page.events.at(-1)!.revision;
          }
          const perBatch = new Map<string, number>();
          for (const event of events) {
            if (event.payload?.$case !== 'messageCreated') continue;
            const id = event.payload.value.message!.id;
            const batch = id.slice(0, id.lastIndexOf('-'));
            perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
          }
          for (const [batch, count] of perBatch) assert.equal(count, BATCH, `batch ${batch} whole`);
        }
        tails.all.cancel();
        for (const [, tail] of tails.perThread) tail.cancel();
      } finally {
        api.close();
        await child.stop('SIGTERM');
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}
