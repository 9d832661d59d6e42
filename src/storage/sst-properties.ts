import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What an SST file's properties block says about it. */
export interface SstProperties {
  /** The column family the file belongs to (every SST holds one family). */
  family: string;
  /** Entries written to the file, deletions included. */
  entries: number;
  /** Deletion markers among them. */
  deletions: number;
}

/** The metaindex key of the properties block; the metaindex has a restart interval of 1, so it is literal. */
const PROPERTIES_BLOCK = Buffer.from('rocksdb.properties');
/** The end of the file searched for the metaindex (it sits just before the footer). */
const TAIL_BYTES = 64 * 1024;

function varint(bytes: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('truncated varint');
}

function read(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const got = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, got);
}

/** The entries of an uncompressed block: prefix-compressed keys, then the restart array. */
function blockEntries(block: Buffer): Map<string, Buffer> {
  const restarts = block.readUInt32LE(block.length - 4) & 0x7fffffff;
  const end = block.length - 4 - 4 * restarts;
  const entries = new Map<string, Buffer>();
  let key = Buffer.alloc(0);
  let at = 0;
  while (at < end) {
    const [shared, a] = varint(block, at);
    const [unshared, b] = varint(block, a);
    const [valueLength, c] = varint(block, b);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(c, c + unshared)]);
    entries.set(key.toString('latin1'), block.subarray(c + unshared, c + unshared + valueLength));
    at = c + unshared + valueLength;
  }
  return entries;
}

/**
 * Reads the table properties of a RocksDB block-based SST file: its metaindex (found by its literal
 * `rocksdb.properties` entry near the end of the file) points to the uncompressed properties block.
 * This is how ProgressDB gets per-family figures: the RocksDB binding reads DB properties of the
 * default family only. Returns undefined for a file it cannot read that way.
 */
export function readSstProperties(path: string): SstProperties | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const tailStart = Math.max(0, size - TAIL_BYTES);
    const tail = read(fd, tailStart, size - tailStart);
    const at = tail.lastIndexOf(PROPERTIES_BLOCK);
    // A metaindex entry: shared 0, key length 18, value length, key, block handle.
    if (at < 3 || tail[at - 3] !== 0 || tail[at - 2] !== PROPERTIES_BLOCK.length) return undefined;
    const [offset, next] = varint(tail, at + PROPERTIES_BLOCK.length);
    const [length] = varint(tail, next);
    if (offset + length > size) return undefined;
    const properties = blockEntries(read(fd, offset, length));
    const number = (name: string): number => {
      const value = properties.get(name);
      return value ? varint(value, 0)[0] : 0;
    };
    const family = properties.get('rocksdb.column.family.name');
    if (!family) return undefined;
    return {
      family: family.toString('utf8'),
      entries: number('rocksdb.num.entries'),
      deletions: number('rocksdb.deleted.keys'),
    };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
