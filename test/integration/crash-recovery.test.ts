import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { databasePath } from '../../src/app.js';
import { rebuildProjections } from '../../src/log/index.js';
import { Family, keys, PROJECTION_FAMILIES, RocksStore } from '../../src/storage/index.js';
import { connect } from '../support/api-client.js';
import { spawnServer } from '../support/child-server.js';
import { TailReader } from '../support/tail-client.js';
import { TEST_KEYS } from '../support/test-server.js';

const backend = { authorization: `Bearer ${TEST_KEYS.backend}`, 'x-user-id': 'alice' };
const THREADS = 6;
const ROUNDS = 3;

interface Acked {
  threadId: string;
  revision: bigint;
}

/** Checks the stopped database: acknowledged appends present, gapless logs, rebuildable projections. */
async function verifyOffline(dataDir: string, acked: readonly Acked[]): Promise<void> {
  const store = await RocksStore.open(databasePath(dataDir));
  try {
    const numbers = new Map<string, bigint>();
    for (let t = 0; t < THREADS; t++) {
      const bytes = store.get(Family.indexes, keys.threadIdIndexKey(`crash-${t}`));
      if (bytes) numbers.set(`crash-${t}`, keys.readU64(bytes));
    }
    for (const { threadId, revision } of acked) {
      const number = numbers.get(threadId);
      assert.ok(number !== undefined, `${threadId} exists`);
      assert.ok(
        store.get(Family.events, keys.eventKey(number, revision)),
        `${threadId}@${revision}`,
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
      'positions are gapless and increasing',
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

for (const durability of ['sync', 'os'] as const) {
  test(`SIGKILL at random moments under load (durability ${durability}): nothing acknowledged is lost, tails resume without gaps`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-crash-'));
    const acked: Acked[] = [];
    const tailed: bigint[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const child = await spawnServer(dataDir, { PROGRESSDB_DURABILITY: durability });
        const api = connect(child.address, backend);
        const tail = new TailReader(
          api.raw.tails.tailAll(
            { afterPosition: tailed.at(-1) ?? 0n, threadIdPrefix: 'crash-', eventTypes: [] },
            api.metadata,
          ),
        );
        let stop = false;
        const before = acked.length;
        const writers = Array.from({ length: 12 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const threadId = `crash-${(w + i) % THREADS}`;
            try {
              const result = await api.messages.appendMessage({
                threadId,
                role: 'user',
                body: { w, i, round },
                createThread: true,
              });
              acked.push({ threadId, revision: result.revision });
            } catch {
              return;
            }
          }
        });
        // Kill after a random amount of acknowledged work, not after a fixed time.
        const target = before + 40 + Math.floor(Math.random() * 200);
        while (acked.length < target) await new Promise((resolve) => setImmediate(resolve));
        await child.stop('SIGKILL');
        stop = true;
        await Promise.all(writers);
        await tail.ended;
        for (const event of tail.events) tailed.push(event.position);
        api.close();
        await verifyOffline(dataDir, acked);
      }
      assert.deepEqual(
        tailed,
        tailed.map((_, i) => BigInt(i + 1)),
        'across every restart the tail saw each position once, in order, without gaps',
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}
