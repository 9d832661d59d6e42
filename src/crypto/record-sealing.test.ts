import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Value } from '../gen/google/protobuf/struct.js';
import { CryptoReason, DecryptFailedError } from './crypto-errors.js';
import type { DataKey } from './key-provider.js';
import {
  isSealed,
  open,
  seal,
  sealWithNonce,
  sealedKeyId,
  type SealingAad,
} from './record-sealing.js';

const key: DataKey = { id: 'dk-1', bytes: Buffer.from(Array.from({ length: 32 }, (_, i) => i)) };
const aad: SealingAad = { threadId: 'thread-1', messageId: 'msg-1', version: 3 };
const plaintext = Buffer.from('hello, sealed world');

/** Asserts that opening fails with DECRYPT_FAILED. */
function assertFails(open: () => unknown, why?: string): void {
  assert.throws(
    open,
    (err: unknown) =>
      err instanceof DecryptFailedError && err.reason === CryptoReason.decryptFailed,
    why,
  );
}

void test('known answer: the format and AES-256-GCM output are exactly as specified', () => {
  // Derived independently with Python's `cryptography` AESGCM from the same key, nonce, plaintext and
  // associated data (header ‖ u32 len ‖ "thread-1" ‖ u32 len ‖ "msg-1" ‖ u32 3).
  const expected =
    '00530104646b2d31' + // marker 00, magic 53, format 01, key id length 4, "dk-1"
    'a0a1a2a3a4a5a6a7a8a9aaab' + // nonce
    '8e7d10412ae722cc0704ebb6635ab7b102c03d' + // ciphertext (19 bytes)
    '60b52f4477e7d35d47bc177ef6cab8d7'; // tag
  const nonce = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex');
  const sealed = sealWithNonce(plaintext, key, aad, nonce);
  assert.equal(sealed.toString('hex'), expected);
  assert.deepEqual(open(Buffer.from(expected, 'hex'), key, aad), plaintext);
});

void test('seal then open gives the plaintext back, by key or by lookup, empty bodies too', () => {
  for (const body of [plaintext, Buffer.alloc(0), randomBytes(70_000)]) {
    const sealed = seal(body, key, aad);
    assert.equal(sealed.length, 4 + 4 + 12 + body.length + 16);
    assert.deepEqual(open(sealed, key, aad), body);
    assert.deepEqual(
      open(sealed, (id) => (id === 'dk-1' ? key.bytes : undefined), aad),
      body,
    );
    assert.equal(sealedKeyId(sealed), 'dk-1');
  }
});

void test('every seal uses a fresh nonce', () => {
  const nonces = new Set<string>();
  const sealedRecords = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const sealed = seal(plaintext, key, aad);
    nonces.add(sealed.subarray(8, 20).toString('hex'));
    sealedRecords.add(sealed.toString('hex'));
  }
  assert.equal(nonces.size, 200);
  assert.equal(sealedRecords.size, 200);
});

void test('flipping any one byte (version, key id, nonce, ciphertext, tag) fails with DECRYPT_FAILED', () => {
  const sealed = seal(plaintext, key, aad);
  for (let index = 0; index < sealed.length; index++) {
    for (const bit of [0x01, 0x80]) {
      const tampered = Buffer.from(sealed);
      tampered[index] = (tampered[index] ?? 0) ^ bit;
      assertFails(() => open(tampered, key, aad), `byte ${index} ^ ${bit}`);
      assertFails(() => open(tampered, () => key.bytes, aad), `byte ${index} ^ ${bit}, lookup`);
    }
  }
});

void test('a truncated or extended record fails with DECRYPT_FAILED', () => {
  const sealed = seal(plaintext, key, aad);
  for (let length = 0; length < sealed.length; length++) {
    assertFails(() => open(sealed.subarray(0, length), key, aad), `length ${length}`);
  }
  assertFails(() => open(Buffer.concat([sealed, Buffer.of(0)]), key, aad));
});

void test('changing any part of the associated data fails with DECRYPT_FAILED', () => {
  const sealed = seal(plaintext, key, aad);
  const others: SealingAad[] = [
    { ...aad, threadId: 'thread-2' },
    { ...aad, messageId: 'msg-2' },
    { ...aad, version: 4 },
    { ...aad, version: 0 },
    { ...aad, threadId: 'thread-1m', messageId: 'sg-1' },
    { ...aad, threadId: '', messageId: '' },
  ];
  for (const other of others) assertFails(() => open(sealed, key, other), JSON.stringify(other));
  // Length prefixes keep the parts apart: moving characters across the boundary changes the AAD.
  const split = seal(plaintext, key, { threadId: 'ab', messageId: 'c', version: 1 });
  assertFails(() => open(split, key, { threadId: 'a', messageId: 'bc', version: 1 }));
});

void test('records swapped between two messages do not open', () => {
  const first = { ...aad, messageId: 'msg-1' };
  const second = { ...aad, messageId: 'msg-2' };
  const sealedFirst = seal(Buffer.from('first body'), key, first);
  const sealedSecond = seal(Buffer.from('second body'), key, second);
  assertFails(() => open(sealedFirst, key, second));
  assertFails(() => open(sealedSecond, key, first));
  assert.deepEqual(open(sealedFirst, key, first), Buffer.from('first body'));
});

void test('the wrong key, another key id, or a missing (shredded) key fails with DECRYPT_FAILED', () => {
  const sealed = seal(plaintext, key, aad);
  assertFails(() => open(sealed, { id: 'dk-1', bytes: randomBytes(32) }, aad));
  assertFails(() => open(sealed, { id: 'dk-2', bytes: key.bytes }, aad));
  assertFails(() => open(sealed, () => undefined, aad));
  assertFails(() => open(sealed, () => key.bytes.subarray(0, 16), aad));
});

void test('isSealed tells sealed records from plaintext protobuf Values', () => {
  assert.equal(isSealed(seal(plaintext, key, aad)), true);
  const values: unknown[] = [null, 0, 1.5, '', 'text', true, false, {}, { a: 1 }, [], [1, 'x']];
  for (const value of values) {
    const encoded = Value.encode(Value.wrap(value)).finish();
    assert.equal(isSealed(encoded), false, JSON.stringify(value));
    assertFails(() => open(Buffer.from(encoded), key, aad), JSON.stringify(value));
  }
  assert.equal(isSealed(Buffer.alloc(0)), false);
  assert.equal(isSealed(Buffer.of(0x00)), false);
  // A sealed record of a future format still counts as sealed, so it fails rather than misparses.
  const future = seal(plaintext, key, aad);
  future[2] = 0x02;
  assert.equal(isSealed(future), true);
  assertFails(() => open(future, key, aad));
  assertFails(() => sealedKeyId(future));
});

void test('programmer mistakes throw plainly, not DECRYPT_FAILED', () => {
  const plain = (fn: () => unknown, message: RegExp) =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof Error && !(err instanceof DecryptFailedError));
      assert.match(err.message, message);
      return true;
    });
  plain(() => seal(plaintext, { id: 'k', bytes: randomBytes(16) }, aad), /256 bits/);
  plain(() => seal(plaintext, { id: 'k', bytes: Buffer.alloc(32) }, aad), /all zeros/);
  plain(() => seal(plaintext, { id: '', bytes: key.bytes }, aad), /key id/);
  plain(() => seal(plaintext, { id: 'x'.repeat(256), bytes: key.bytes }, aad), /key id/);
  for (const version of [-1, 1.5, 2 ** 32, Number.NaN]) {
    plain(() => seal(plaintext, key, { ...aad, version }), /u32/);
    plain(() => open(seal(plaintext, key, aad), key, { ...aad, version }), /u32/);
  }
  plain(() => sealWithNonce(plaintext, key, aad, Buffer.alloc(8)), /nonce/);
});

void test('error messages name ids only: no key, plaintext or ciphertext', () => {
  const secret = Buffer.from('top secret marker body');
  const sealed = seal(secret, key, aad);
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  try {
    open(tampered, key, aad);
    assert.fail('should not open');
  } catch (err) {
    assert.ok(err instanceof DecryptFailedError);
    assert.match(err.message, /msg-1.*thread-1/);
    for (const text of [
      secret.toString('utf8'),
      key.bytes.toString('hex'),
      key.bytes.toString('base64'),
      sealed.toString('hex').slice(8, 40),
      sealed.toString('base64').slice(4, 30),
    ]) {
      assert.ok(!err.message.includes(text), err.message);
    }
  }
});
