import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RocksStore } from './rocks-store.js';
import { readSstProperties } from './sst-properties.js';

test('SST files name their column family, entries and deletions; other files give nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'progressdb-sst-'));
  try {
    let store = await RocksStore.open(dir);
    const puts = Array.from({ length: 300 }, (_, i) => ({
      type: 'put' as const,
      family: 'events' as const,
      key: Buffer.from(`event-${i}`),
      value: Buffer.alloc(64, i),
    }));
    store.write(
      [
        ...puts,
        { type: 'put', family: 'threads', key: Buffer.from('a'), value: Buffer.from('1') },
        { type: 'put', family: 'threads', key: Buffer.from('b'), value: Buffer.from('2') },
        { type: 'del', family: 'threads', key: Buffer.from('c') },
      ],
      true,
    );
    await store.close();
    // Reopening replays the WAL into SST files.
    store = await RocksStore.open(dir);
    const found = (await readdir(dir))
      .filter((name) => name.endsWith('.sst'))
      .map((name) => readSstProperties(join(dir, name)));
    assert.deepEqual(
      found.sort((a, b) => (a?.family ?? '').localeCompare(b?.family ?? '')),
      [
        { family: 'default', entries: 1, deletions: 0 }, // the storage schema version
        { family: 'events', entries: 300, deletions: 0 },
        { family: 'threads', entries: 3, deletions: 1 },
      ],
    );
    const sizes = store.familySizes();
    assert.equal(sizes.find((family) => family.name === 'events')?.keys, 300n);
    assert.equal(sizes.find((family) => family.name === 'threads')?.keys, 2n);
    assert.equal(sizes.find((family) => family.name === 'tails')?.bytes, 0n);
    await store.close();
    await writeFile(join(dir, 'not-an-sst.sst'), Buffer.alloc(4096, 7));
    assert.equal(readSstProperties(join(dir, 'not-an-sst.sst')), undefined);
    assert.equal(readSstProperties(join(dir, 'missing.sst')), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
