import { LocalKeyProvider } from '../crypto/index.js';
import { readCounter } from '../log/index.js';
import { ThreadKeyRecord, ThreadRecord } from '../gen/progressdb/storage/v1/records.js';
import { Counter, Family, type RocksStore } from '../storage/index.js';
import { BackupError, BackupProblem } from './backup-format.js';

/** The checks a restore runs on the rebuilt database before it moves it into place. */

function countRows(store: RocksStore, family: typeof Family.keys | typeof Family.threads): bigint {
  let count = 0n;
  let gte = Buffer.alloc(0);
  for (;;) {
    const rows = store.scan(family, { gte, lt: Buffer.alloc(9, 0xff), limit: 4096 });
    count += BigInt(rows.length);
    const last = rows[rows.length - 1];
    if (rows.length < 4096 || !last) return count;
    gte = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/** Compares the rebuilt database with the trailer's counts. @throws BackupError COUNT_MISMATCH */
export function verifyCounts(
  store: RocksStore,
  expected: { events: bigint; threads: bigint; messages: bigint; keys: bigint },
  folded: bigint,
): void {
  const found = {
    'events folded': folded,
    events: readCounter(store, Counter.events),
    threads: readCounter(store, Counter.threads),
    'thread rows': countRows(store, Family.threads),
    messages: readCounter(store, Counter.messages),
    keys: countRows(store, Family.keys),
  };
  const want = {
    'events folded': expected.events,
    events: expected.events,
    threads: expected.threads,
    'thread rows': expected.threads,
    messages: expected.messages,
    keys: expected.keys,
  };
  for (const [name, value] of Object.entries(found)) {
    const target = want[name as keyof typeof want];
    if (value !== target) {
      throw new BackupError(
        BackupProblem.countMismatch,
        `the restored database holds ${value} ${name}, the backup says ${target}`,
      );
    }
  }
}

/**
 * Checks that every restored data key wrapped by the local provider opens under the given master
 * key file; counts the keys that need a master key nobody gave, and those held by AWS KMS.
 * @throws BackupError INVALID_INPUT when a key does not open under the given master key file.
 */
export async function verifyKeys(
  store: RocksStore,
  masterKeyFile: string | undefined,
): Promise<{ keysNeedingMasterKey: bigint; kmsKeys: bigint }> {
  const provider = masterKeyFile
    ? await LocalKeyProvider.open({ file: masterKeyFile, createIfMissing: false })
    : undefined;
  let keysNeedingMasterKey = 0n;
  let kmsKeys = 0n;
  try {
    let gte = Buffer.alloc(0);
    for (;;) {
      const rows = store.scan(Family.keys, { gte, lt: Buffer.alloc(9, 0xff), limit: 1024 });
      for (const row of rows) {
        const record = ThreadKeyRecord.decode(row.value);
        if (record.provider === 'aws') {
          kmsKeys++;
          continue;
        }
        if (!provider) {
          keysNeedingMasterKey++;
          continue;
        }
        const threadBytes = store.get(Family.threads, row.key);
        if (!threadBytes) continue;
        const threadId = ThreadRecord.decode(threadBytes).id;
        try {
          const key = await provider.decryptDataKey(Buffer.from(record.wrapped), { threadId });
          key.fill(0);
        } catch {
          throw new BackupError(
            BackupProblem.invalidInput,
            `the data key of thread ${threadId} (master key ${record.kmsKeyId}) does not open ` +
              `under the master key file given: it is not the source's master key file`,
          );
        }
      }
      const last = rows[rows.length - 1];
      if (rows.length < 1024 || !last) break;
      gte = Buffer.concat([last.key, Buffer.from([0])]);
    }
  } finally {
    await provider?.close();
  }
  return { keysNeedingMasterKey, kmsKeys };
}
