import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptFailedError } from './crypto-errors.js';
import { DATA_KEY_BYTES, type DataKey } from './key-provider.js';

/**
 * Where a sealed record belongs; bound into it as associated data, so a record copied to another
 * thread, message or version does not open.
 */
export interface SealingAad {
  readonly threadId: string;
  readonly messageId: string;
  /** The message version, an unsigned 32-bit integer. */
  readonly version: number;
}

/** Finds a data key by the id a sealed record names; `undefined` when there is none (shredded). */
export type DataKeyLookup = (keyId: string) => Buffer | undefined;

/**
 * 0x00 cannot start a protobuf encoding (field number 0 is invalid), so sealed records and the
 * plaintext ones written while encryption was off (encoded protobuf messages) never look alike.
 */
const MARKER = 0x00;
const MAGIC = 0x53;
/** The sealed format: `00 53 01 ‖ key id length (u8) ‖ key id ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. */
const FORMAT_V1 = 0x01;
const HEADER_FIXED_BYTES = 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MAX_KEY_ID_BYTES = 255;
const MAX_U32 = 0xffff_ffff;
const ZERO_KEY = Buffer.alloc(DATA_KEY_BYTES);

/**
 * True when `bytes` start like a sealed record (any format version), false for plaintext records.
 * A sealed record of an unknown version still counts as sealed, so it fails as `DECRYPT_FAILED`.
 */
export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === MARKER && bytes[1] === MAGIC;
}

/**
 * Seals a record with AES-256-GCM under a thread's data key, with a fresh random 96-bit nonce and
 * `aad` bound in. Synchronous, for use inside a write job.
 * @throws Error on a programmer mistake: a key that is not 256 bits (or is all zeros, i.e. zeroed
 * by a cache eviction), a key id over 255 bytes, or a version that is not a u32.
 */
export function seal(plaintext: Buffer, key: DataKey, aad: SealingAad): Buffer {
  return sealWithNonce(plaintext, key, aad, nextNonce());
}

/** Random bytes drawn from the CSPRNG in blocks: one call per 341 nonces instead of one each. */
const NONCE_POOL_BYTES = NONCE_BYTES * 341;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

function nextNonce(): Buffer {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceOffset = 0;
  }
  const nonce = Buffer.from(noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES));
  // Each pooled byte is handed out once: wipe it so a nonce cannot be drawn twice.
  noncePool.fill(0, nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

/**
 * `seal` with a given nonce, for known-answer tests only: a nonce must never be used twice with a key.
 * @internal
 */
export function sealWithNonce(
  plaintext: Buffer,
  key: DataKey,
  aad: SealingAad,
  nonce: Buffer,
): Buffer {
  if (key.bytes.length !== DATA_KEY_BYTES) throw new Error('a data key must be 256 bits');
  if (ZERO_KEY.equals(key.bytes))
    throw new Error('the data key is all zeros (evicted and zeroed?)');
  if (nonce.length !== NONCE_BYTES) throw new Error(`a nonce must be ${NONCE_BYTES} bytes`);
  const header = sealedHeader(key.id);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(header, aad));
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([header, nonce, body, final, cipher.getAuthTag()]);
}

/**
 * Opens a sealed record: with the data key itself, or a lookup by the key id the record names.
 * @throws DecryptFailedError when the record does not open: unknown format, no such key, another
 * key, tampered or truncated bytes, or another thread, message or version than `aad`.
 */
export function open(sealed: Buffer, key: DataKey | DataKeyLookup, aad: SealingAad): Buffer {
  const failed = (why: string) =>
    new DecryptFailedError(
      `a sealed record of message ${aad.messageId} in thread ${aad.threadId} ${why}`,
    );
  const parsed = parse(sealed);
  if (typeof parsed === 'string') throw failed(parsed);
  const { headerEnd, keyId } = parsed;
  let keyBytes: Buffer | undefined;
  if (typeof key === 'function') keyBytes = key(keyId);
  else if (key.id === keyId) keyBytes = key.bytes;
  else throw failed(`is sealed under data key ${keyId}, not ${key.id}`);
  if (keyBytes === undefined) throw failed(`needs data key ${keyId}, which is not there`);
  if (keyBytes.length !== DATA_KEY_BYTES) throw failed(`needs data key ${keyId} of 256 bits`);

  const nonce = sealed.subarray(headerEnd, headerEnd + NONCE_BYTES);
  const associated = associatedData(sealed.subarray(0, headerEnd), aad);
  const decipher = createDecipheriv('aes-256-gcm', keyBytes, nonce, { authTagLength: TAG_BYTES });
  try {
    decipher.setAAD(associated);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = decipher.update(sealed.subarray(headerEnd + NONCE_BYTES, -TAG_BYTES));
    decipher.final();
    return body;
  } catch {
    throw failed('does not open (tampered, moved, or another key)');
  }
}

/**
 * The id of the data key a sealed record needs, read from its header.
 * @throws DecryptFailedError when `sealed` is not a sealed record of a known format.
 */
export function sealedKeyId(sealed: Buffer): string {
  const parsed = parse(sealed);
  if (typeof parsed === 'string') throw new DecryptFailedError(`a sealed record ${parsed}`);
  return parsed.keyId;
}

/** The header fields, or why there are none. */
function parse(sealed: Buffer): { headerEnd: number; keyId: string } | string {
  if (!isSealed(sealed)) return 'is not sealed';
  if (sealed[2] !== FORMAT_V1) return `has an unknown format version ${sealed[2] ?? '(none)'}`;
  const keyIdLength = sealed[3] ?? 0;
  const headerEnd = HEADER_FIXED_BYTES + keyIdLength;
  if (keyIdLength === 0 || sealed.length < headerEnd + NONCE_BYTES + TAG_BYTES) {
    return 'is truncated';
  }
  return { headerEnd, keyId: sealed.subarray(HEADER_FIXED_BYTES, headerEnd).toString('utf8') };
}

function sealedHeader(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  if (id.length === 0 || id.length > MAX_KEY_ID_BYTES) {
    throw new Error(`a data key id must be 1 to ${MAX_KEY_ID_BYTES} bytes of UTF-8`);
  }
  const header = Buffer.allocUnsafe(HEADER_FIXED_BYTES + id.length);
  header[0] = MARKER;
  header[1] = MAGIC;
  header[2] = FORMAT_V1;
  header[3] = id.length;
  id.copy(header, HEADER_FIXED_BYTES);
  return header;
}

/**
 * `header ‖ u32 len ‖ thread id ‖ u32 len ‖ message id ‖ u32 version`, big-endian: every part
 * length-prefixed or fixed-width, so no two different (thread, message, version) triples collide.
 */
function associatedData(header: Buffer, aad: SealingAad): Buffer {
  if (!Number.isInteger(aad.version) || aad.version < 0 || aad.version > MAX_U32) {
    throw new Error(`a sealing version must be a u32, not ${aad.version}`);
  }
  const threadBytes = Buffer.byteLength(aad.threadId, 'utf8');
  const messageBytes = Buffer.byteLength(aad.messageId, 'utf8');
  const out = Buffer.allocUnsafe(header.length + 12 + threadBytes + messageBytes);
  let at = header.copy(out, 0);
  at = out.writeUInt32BE(threadBytes, at);
  at += out.write(aad.threadId, at, 'utf8');
  at = out.writeUInt32BE(messageBytes, at);
  at += out.write(aad.messageId, at, 'utf8');
  out.writeUInt32BE(aad.version, at);
  return out;
}
