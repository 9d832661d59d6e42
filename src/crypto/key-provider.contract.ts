import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CryptoReason, DecryptFailedError } from './crypto-errors.js';
import { DATA_KEY_BYTES, type KeyProvider } from './key-provider.js';

/** A provider under test, with what the contract needs to know about its setup. */
export interface KeyProviderHarness {
  readonly provider: KeyProvider;
  /** The key id `generateDataKey` reports (for AWS, the ARN of the configured key). */
  readonly reportedKeyId: string;
  /** Another key id that `rewrap` can target. */
  readonly otherKeyId: string;
  close(): Promise<void>;
}

/** Asserts that `promise` rejects with `DecryptFailedError` (reason `DECRYPT_FAILED`). */
export async function rejectsDecryptFailed(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DecryptFailedError, `expected DecryptFailedError, got ${String(err)}`);
    assert.equal(err.reason, CryptoReason.decryptFailed);
    return true;
  });
}

function flip(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

/**
 * The behaviour every `KeyProvider` shares, registered as tests for the provider `open` makes (like
 * abstract-level's suite): run it once per implementation.
 */
export function keyProviderContract(name: string, open: () => Promise<KeyProviderHarness>): void {
  void describe(`${name} meets the KeyProvider contract`, () => {
    let harness: KeyProviderHarness;
    let provider: KeyProvider;
    before(async () => {
      harness = await open();
      provider = harness.provider;
    });
    after(() => harness.close());

    void test('generateDataKey makes a 256-bit key whose wrapped form decrypts back', async () => {
      const context = { threadId: 'thread-roundtrip' };
      const generated = await provider.generateDataKey(context);
      assert.equal(generated.plaintext.length, DATA_KEY_BYTES);
      assert.equal(generated.keyId, harness.reportedKeyId);
      assert.equal(
        generated.wrapped.indexOf(generated.plaintext),
        -1,
        'the key is not in the clear',
      );
      const unwrapped = await provider.decryptDataKey(generated.wrapped, context);
      assert.deepEqual(unwrapped, generated.plaintext);
    });

    void test('every call makes a different key and a different wrapped form', async () => {
      const context = { threadId: 'thread-fresh' };
      const [a, b] = await Promise.all([
        provider.generateDataKey(context),
        provider.generateDataKey(context),
      ]);
      assert.notDeepEqual(a.plaintext, b.plaintext);
      assert.notDeepEqual(a.wrapped, b.wrapped);
    });

    void test('a wrapped key opens only under its own thread id', async () => {
      const generated = await provider.generateDataKey({ threadId: 'thread-a' });
      await rejectsDecryptFailed(
        provider.decryptDataKey(generated.wrapped, { threadId: 'thread-b' }),
      );
      await rejectsDecryptFailed(provider.decryptDataKey(generated.wrapped, { threadId: '' }));
    });

    void test('a tampered or truncated wrapped key fails with DECRYPT_FAILED', async () => {
      const context = { threadId: 'thread-tamper' };
      const { wrapped } = await provider.generateDataKey(context);
      for (const index of [wrapped.length - 1, wrapped.length - 20, wrapped.length - 40]) {
        await rejectsDecryptFailed(provider.decryptDataKey(flip(wrapped, index), context));
      }
      await rejectsDecryptFailed(provider.decryptDataKey(wrapped.subarray(0, 5), context));
      await rejectsDecryptFailed(provider.decryptDataKey(wrapped.subarray(0, -1), context));
    });

    void test('rewrap to another key id, then decrypt gives the same key', async () => {
      const context = { threadId: 'thread-rewrap' };
      const generated = await provider.generateDataKey(context);
      const rewrapped = await provider.rewrap(generated.wrapped, context, harness.otherKeyId);
      assert.equal(rewrapped.keyId, harness.otherKeyId);
      assert.notDeepEqual(rewrapped.wrapped, generated.wrapped);
      assert.deepEqual(
        await provider.decryptDataKey(rewrapped.wrapped, context),
        generated.plaintext,
      );
      await rejectsDecryptFailed(provider.decryptDataKey(rewrapped.wrapped, { threadId: 'other' }));

      const back = await provider.rewrap(rewrapped.wrapped, context);
      assert.equal(back.keyId, harness.reportedKeyId, 'without a target: the current key');
      assert.deepEqual(await provider.decryptDataKey(back.wrapped, context), generated.plaintext);
    });

    void test('rewrap of a wrapped key under the wrong thread id fails with DECRYPT_FAILED', async () => {
      const generated = await provider.generateDataKey({ threadId: 'thread-x' });
      await rejectsDecryptFailed(provider.rewrap(generated.wrapped, { threadId: 'thread-y' }));
    });

    void test('crypto errors name no key material', async () => {
      const context = { threadId: 'thread-leak' };
      const generated = await provider.generateDataKey(context);
      const err = await provider.decryptDataKey(generated.wrapped, { threadId: 'elsewhere' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof Error);
      for (const secret of [generated.plaintext, generated.wrapped]) {
        for (const encoding of ['base64', 'hex'] as const) {
          assert.ok(!err.message.includes(secret.toString(encoding)), err.message);
        }
      }
    });
  });
}
