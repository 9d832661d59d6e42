import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '../../sdk/src/index.js';
import { databasePath } from '../../src/data-folder.js';
import { readBackupFile, restoreBackup, writeBackup } from '../../src/backup/index.js';
import { Family, keys, RocksStore } from '../../src/storage/index.js';
import { startTestServer, TEST_KEYS } from '../support/test-server.js';
import { as } from './backup-workload.js';

for (const moment of ['before its events are read', 'after its events are written'] as const) {
  test(`a thread purged while the backup runs (${moment}) is left out, and the counts still agree`, async () => {
    const work = await mkdtemp(join(tmpdir(), 'progressdb-backup-race-'));
    const server = await startTestServer();
    const client = createClient({ address: server.address, apiKey: TEST_KEYS.backend });
    for (const threadId of ['before', 'victim', 'after']) {
      for (let i = 0; i < 5; i++) {
        await client.messages.append(
          { threadId, role: 'user', body: { i }, createThread: true },
          as('alice'),
        );
      }
    }
    client.close();
    await server.app.close();
    const store = await RocksStore.open(databasePath(server.dataDir));
    try {
      const victim = keys.readU64(store.get(Family.indexes, keys.threadIdIndexKey('victim'))!);
      let purged = false;
      // The purge's first, durable step lands right after the backup read the victim's events.
      const racing = new Proxy(store, {
        get(target, name) {
          const purge = (): void => {
            target.write(
              [{ type: 'del', family: Family.indexes, key: keys.threadIdIndexKey('victim') }],
              false,
            );
            purged = true;
          };
          if (name === 'get' && moment === 'after its events are written') {
            return (family: 'keys', key: Buffer) => {
              if (family === Family.keys && !purged && key.equals(keys.threadKey(victim))) purge();
              return target.get(family, key);
            };
          }
          if (name === 'scan' && moment === 'before its events are read') {
            return (family: 'events', options: Parameters<RocksStore['scan']>[1]) => {
              const rows = target.scan(family, options);
              if (family === Family.events && !purged) {
                if (rows.some((row) => keys.readU64(row.key) === victim)) purge();
              }
              return rows;
            };
          }
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
      const position = keys.readU64(store.get(Family.default, keys.MetaKey.lastPosition)!);
      const { chunks, counts } = writeBackup(racing, position);
      const parts: Buffer[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      assert.ok(purged);
      assert.equal(counts.threads, 2n);
      assert.equal(counts.events, 12n, 'two threads of one creation and five messages each');
      const file = join(work, 'race.pdbbak');
      await writeFile(file, Buffer.concat(parts));
      let omitted = 0;
      await readBackupFile(file, { threadOmitted: () => void omitted++ });
      assert.equal(omitted, moment === 'after its events are written' ? 1 : 0);
      const restored = await restoreBackup({ file, dataDir: join(work, 'restored') });
      assert.equal(restored.keys, 2n);
      assert.equal(restored.threads, 2n);
      assert.equal(restored.events, 12n);
      const copy = await RocksStore.open(databasePath(join(work, 'restored')));
      try {
        assert.equal(copy.scan(Family.events, keys.threadRange(victim)).length, 0);
        assert.equal(copy.get(Family.keys, keys.threadKey(victim)), undefined);
        assert.equal(copy.get(Family.indexes, keys.threadIdIndexKey('victim')), undefined);
      } finally {
        await copy.close();
      }
    } finally {
      await store.close();
      await server.close();
      await rm(work, { recursive: true, force: true });
    }
  });
}
