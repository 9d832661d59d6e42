import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, afterEach, before, test } from 'node:test';
import { startKmsFixture, type KmsFixture } from '../../test/support/kms-fixture.js';
import { AwsKmsKeyProvider, type AwsKmsKeyProviderOptions } from './aws-kms-key-provider.js';
import { CryptoReason, KeyAccessError, KmsUnavailableError } from './crypto-errors.js';
import { keyProviderContract } from './key-provider.contract.js';
import { classifyKmsError } from './kms-error-classification.js';

let fixture: KmsFixture;
let keyArn: string;
const providers: AwsKmsKeyProvider[] = [];

before(async () => {
  fixture = await startKmsFixture();
  keyArn = fixture.createKey({ alias: 'progressdb' });
});
afterEach(() => fixture.reset());
after(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  await fixture.close();
});

/** A provider against the fixture, with millisecond backoff to keep the tests fast. */
function kmsProvider(options: Partial<AwsKmsKeyProviderOptions> = {}): AwsKmsKeyProvider {
  const provider = new AwsKmsKeyProvider({
    keyId: 'alias/progressdb',
    region: fixture.region,
    endpoint: fixture.endpoint,
    credentials: fixture.credentials,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 5,
    ...options,
  });
  providers.push(provider);
  return provider;
}

const context = { threadId: 'thread-aws' };

keyProviderContract('AwsKmsKeyProvider (against the KMS fixture)', () => {
  const provider = kmsProvider();
  return Promise.resolve({
    provider,
    reportedKeyId: keyArn,
    otherKeyId: fixture.createKey(),
    close: () => provider.close(),
  });
});

void test('requests are signed and always carry the thread id as encryption context', async () => {
  const provider = kmsProvider();
  const generated = await provider.generateDataKey(context);
  await provider.decryptDataKey(generated.wrapped, context);
  await provider.rewrap(generated.wrapped, context);
  assert.deepEqual(
    fixture.requests.map((request) => request.operation),
    ['GenerateDataKey', 'Decrypt', 'ReEncrypt'],
  );
  assert.ok(fixture.requests.every((request) => request.signed));
  const [generate, decrypt, reEncrypt] = fixture.requests.map((request) => request.body);
  const threadContext = { thread_id: 'thread-aws' };
  assert.deepEqual(generate, {
    KeyId: 'alias/progressdb',
    KeySpec: 'AES_256',
    EncryptionContext: threadContext,
  });
  assert.deepEqual(decrypt?.EncryptionContext, threadContext);
  assert.deepEqual(reEncrypt?.SourceEncryptionContext, threadContext);
  assert.deepEqual(reEncrypt?.DestinationEncryptionContext, threadContext);
  assert.equal(reEncrypt?.DestinationKeyId, 'alias/progressdb');
  assert.equal(provider.currentKeyId(), 'alias/progressdb');
  assert.equal(generated.keyId, keyArn, 'the ARN KMS reports is what is stored');
});

void test('throttling is retried with backoff and then succeeds', async () => {
  const provider = kmsProvider();
  fixture.throttleNext(2);
  const generated = await provider.generateDataKey(context);
  assert.equal(fixture.calls('GenerateDataKey'), 3);
  fixture.throttleNext(1);
  assert.deepEqual(await provider.decryptDataKey(generated.wrapped, context), generated.plaintext);
  assert.equal(fixture.calls('Decrypt'), 2);
});

void test('persistent throttling ends in KmsUnavailableError after maxAttempts', async () => {
  const provider = kmsProvider({ maxAttempts: 3 });
  fixture.throttleNext(100);
  await assert.rejects(provider.generateDataKey(context), (err: unknown) => {
    assert.ok(err instanceof KmsUnavailableError);
    assert.equal(err.reason, CryptoReason.kmsUnavailable);
    assert.equal(err.operation, 'GenerateDataKey');
    assert.equal(err.attempts, 3);
    assert.equal(err.lastFailure, 'ThrottlingException');
    return true;
  });
  assert.equal(fixture.calls(), 3);
});

void test('5xx responses are retried, and persistent ones end in KmsUnavailableError', async () => {
  const provider = kmsProvider({ maxAttempts: 4 });
  fixture.failNext(3, 500);
  const generated = await provider.generateDataKey(context);
  assert.equal(fixture.calls('GenerateDataKey'), 4);

  fixture.failNext(10, 503);
  await assert.rejects(provider.rewrap(generated.wrapped, context), (err: unknown) => {
    assert.ok(err instanceof KmsUnavailableError);
    assert.equal(err.lastFailure, 'KMSInternalException');
    return true;
  });
  assert.equal(fixture.calls('ReEncrypt'), 4);
});

void test('an unreachable KMS ends in KmsUnavailableError after the retries', async () => {
  const port = await closedPort();
  const provider = kmsProvider({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 });
  await assert.rejects(provider.generateDataKey(context), (err: unknown) => {
    assert.ok(err instanceof KmsUnavailableError);
    assert.equal(err.attempts, 2);
    assert.equal(err.lastFailure, 'ECONNREFUSED');
    return true;
  });
});

void test('a KMS that accepts but never answers times out, is retried, then KmsUnavailableError', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const address = silent.address();
    assert.ok(address !== null && typeof address === 'object');
    const provider = kmsProvider({
      endpoint: `http://127.0.0.1:${address.port}`,
      requestTimeoutMs: 50,
      maxAttempts: 2,
    });
    await assert.rejects(provider.generateDataKey(context), (err: unknown) => {
      assert.ok(err instanceof KmsUnavailableError);
      assert.equal(err.lastFailure, 'TimeoutError');
      return true;
    });
    assert.equal(sockets.length, 2, 'one connection per attempt');
  } finally {
    sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

void test('access denied is a KeyAccessError, not retried, with a clear message', async () => {
  const provider = kmsProvider();
  fixture.denyAccess(keyArn);
  await assert.rejects(provider.generateDataKey(context), (err: unknown) => {
    assert.ok(err instanceof KeyAccessError);
    assert.equal(err.reason, CryptoReason.kmsUnavailable);
    assert.equal(err.providerError, 'AccessDeniedException');
    assert.equal(err.keyId, 'alias/progressdb');
    assert.match(err.message, /AccessDeniedException.*not authorized.*check the key id/);
    return true;
  });
  assert.equal(fixture.calls(), 1);
});

void test('an unknown, disabled or wrongly credentialled key is a KeyAccessError', async () => {
  const cases: [AwsKmsKeyProvider, () => void, string][] = [
    [kmsProvider({ keyId: 'alias/missing' }), () => undefined, 'NotFoundException'],
    [kmsProvider(), () => fixture.disableKey(keyArn), 'DisabledException'],
    [
      kmsProvider({ credentials: { ...fixture.credentials, secretAccessKey: 'wrong-secret' } }),
      () => undefined,
      'InvalidSignatureException',
    ],
    [
      kmsProvider({ credentials: { ...fixture.credentials, accessKeyId: 'AKIAUNKNOWN000000000' } }),
      () => undefined,
      'UnrecognizedClientException',
    ],
  ];
  for (const [provider, arrange, expected] of cases) {
    fixture.reset();
    arrange();
    await assert.rejects(provider.generateDataKey(context), (err: unknown) => {
      assert.ok(err instanceof KeyAccessError, String(err));
      assert.equal(err.providerError, expected);
      return true;
    });
    assert.equal(fixture.calls(), 1, `${expected} is not retried`);
  }
});

void test('a wrapped key whose KMS key is disabled cannot be unwrapped: KeyAccessError', async () => {
  const provider = kmsProvider();
  const generated = await provider.generateDataKey(context);
  fixture.disableKey(keyArn);
  await assert.rejects(provider.decryptDataKey(generated.wrapped, context), KeyAccessError);
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

void test('KMS errors are sorted into transient, access, decrypt and other', () => {
  const cases: [unknown, string, string][] = [
    [{ name: 'ThrottlingException', $fault: 'client' }, 'transient', 'ThrottlingException'],
    [{ name: 'TimeoutError' }, 'transient', 'TimeoutError'],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'transient', 'ECONNRESET'],
    [{ name: 'SomethingNew', $fault: 'server' }, 'transient', 'SomethingNew'],
    [{ name: 'Odd', $metadata: { httpStatusCode: 502 } }, 'transient', 'Odd'],
    [{ name: 'NotFoundException', message: 'no key' }, 'access', 'NotFoundException'],
    [{ name: 'CredentialsProviderError' }, 'access', 'CredentialsProviderError'],
    [{ name: 'InvalidCiphertextException' }, 'decrypt', 'InvalidCiphertextException'],
    [{ name: 'ValidationException', $fault: 'client' }, 'other', 'ValidationException'],
    [new TypeError('bug'), 'other', 'TypeError'],
    ['a string', 'other', 'string'],
  ];
  for (const [err, kind, name] of cases) {
    assert.deepEqual(
      (({ kind, name }) => ({ kind, name }))(classifyKmsError(err)),
      { kind, name },
      JSON.stringify(err),
    );
  }
});
