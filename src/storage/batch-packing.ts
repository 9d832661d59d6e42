import { ALL_FAMILIES } from './column-families.js';
import type { BatchOp } from './rocks-store.js';

const HEADER_BYTES = 10;
const PUT = 1;
const DEL = 2;

/**
 * Packs batch operations into one buffer (per op: type u8, family u8, key length u32, value
 * length u32, key, value) so that a whole group moves to the commit thread in one transfer.
 */
export function packBatch(ops: readonly BatchOp[]): ArrayBuffer {
  let size = 0;
  for (const op of ops)
    size += HEADER_BYTES + op.key.length + (op.type === 'put' ? op.value.length : 0);
  const packed = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const op of ops) {
    const value = op.type === 'put' ? op.value : undefined;
    packed.writeUInt8(op.type === 'put' ? PUT : DEL, offset);
    packed.writeUInt8(ALL_FAMILIES.indexOf(op.family), offset + 1);
    packed.writeUInt32BE(op.key.length, offset + 2);
    packed.writeUInt32BE(value?.length ?? 0, offset + 6);
    offset += HEADER_BYTES;
    offset += op.key.copy(packed, offset);
    if (value) offset += value.copy(packed, offset);
  }
  return packed.buffer;
}

/** Unpacks what `packBatch` packed; keys and values are views of `packed`. */
export function unpackBatch(packed: ArrayBuffer): BatchOp[] {
  const bytes = Buffer.from(packed);
  const ops: BatchOp[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const type = bytes.readUInt8(offset);
    const family = ALL_FAMILIES[bytes.readUInt8(offset + 1)];
    const keyLength = bytes.readUInt32BE(offset + 2);
    const valueLength = bytes.readUInt32BE(offset + 6);
    offset += HEADER_BYTES;
    const key = bytes.subarray(offset, offset + keyLength);
    offset += keyLength;
    if (!family) throw new Error('packed batch names an unknown column family');
    if (type === PUT) {
      ops.push({ type: 'put', family, key, value: bytes.subarray(offset, offset + valueLength) });
      offset += valueLength;
    } else {
      ops.push({ type: 'del', family, key });
    }
  }
  return ops;
}
