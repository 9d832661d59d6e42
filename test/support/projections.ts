import assert from 'node:assert/strict';
import { databasePath } from '../../src/data-folder.js';
import { rebuildProjections } from '../../src/log/index.js';
import { PROJECTION_FAMILIES, RocksStore } from '../../src/storage/index.js';

/** Every row of every projection family, as hex `key=value` strings by family. */
export function projectionSnapshot(store: RocksStore): Map<string, string[]> {
  const families = new Map<string, string[]>();
  for (const family of PROJECTION_FAMILIES) {
    const rows = store.scan(family, { gte: Buffer.alloc(0), lt: Buffer.alloc(32, 0xff) });
    families.set(
      family,
      rows.map((row) => `${row.key.toString('hex')}=${row.value.toString('hex')}`),
    );
  }
  return families;
}

/**
 * Opens the (closed) database of `dataDir`, rebuilds its projections from `events` alone and
 * asserts they equal the live ones byte for byte. @returns how many events were folded.
 */
export async function assertRebuildReproduces(dataDir: string): Promise<number> {
  const store = await RocksStore.open(databasePath(dataDir));
  try {
    const live = projectionSnapshot(store);
    const folded = rebuildProjections(store);
    const rebuilt = projectionSnapshot(store);
    for (const family of PROJECTION_FAMILIES) {
      assert.deepEqual(rebuilt.get(family), live.get(family), `family ${family}`);
    }
    return folded;
  } finally {
    await store.close();
  }
}
