import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { startKmsFixture, type KmsFixture } from './kms-fixture.js';

let fixture: KmsFixture;
let client: KMSClient;

before(async () => {
  fixture = await startKmsFixture();
  client = new KMSClient({
    endpoint: fixture.endpoint,
    region: fixture.region,
    credentials: fixture.credentials,
    maxAttempts: 1,
  });
});
afterEach(() => fixture.reset());
after(async () => {
  client.destroy();
  await fixture.close();
});

/** The AWS error name a call fails with. */
async function errorName(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'no error',
    (err: unknown) => (err instanceof Error ? err.name : String(err)),
  );
}

/** A raw request, as a client without the SDK would send it. */
async function raw(headers: Record<string, string>, body: object): Promise<Response> {
  return fetch(fixture.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
    body: JSON.stringify(body),
  });
}

void test('Encrypt and Decrypt round-trip through the real SDK; the context must match', async () => {
  const keyId = fixture.createKey();
  const plaintext = Buffer.from('fixture plaintext');
  const context = { thread_id: 't-1', purpose: 'test' };
  const encrypted = await client.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }),
  );
  assert.equal(encrypted.KeyId, keyId);
  const blob = encrypted.CiphertextBlob;
  assert.ok(blob !== undefined);
  assert.equal(Buffer.from(blob).indexOf(plaintext), -1);

  const reordered = { purpose: 'test', thread_id: 't-1' };
  const decrypted = await client.send(
    new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: reordered }),
  );
  assert.deepEqual(Buffer.from(decrypted.Plaintext ?? []), plaintext);
  assert.equal(decrypted.KeyId, keyId);

  const wrongContexts: (Record<string, string> | undefined)[] = [
    { thread_id: 't-2', purpose: 'test' },
    { thread_id: 't-1' },
    undefined,
  ];
  for (const wrong of wrongContexts) {
    assert.equal(
      await errorName(
        client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: wrong })),
      ),
      'InvalidCiphertextException',
    );
  }
});

void test('GenerateDataKey by alias, ReEncrypt to another key, Decrypt finds the key from the blob', async () => {
  const first = fixture.createKey({ alias: 'first' });
  const second = fixture.createKey();
  const context = { thread_id: 't-3' };
  const generated = await client.send(
    new GenerateDataKeyCommand({
      KeyId: 'alias/first',
      KeySpec: 'AES_256',
      EncryptionContext: context,
    }),
  );
  assert.equal(generated.KeyId, first);
  assert.equal(generated.Plaintext?.length, 32);
  const reEncrypted = await client.send(
    new ReEncryptCommand({
      CiphertextBlob: generated.CiphertextBlob,
      SourceEncryptionContext: context,
      DestinationKeyId: second,
      DestinationEncryptionContext: context,
    }),
  );
  assert.equal(reEncrypted.SourceKeyId, first);
  assert.equal(reEncrypted.KeyId, second);
  const decrypted = await client.send(
    new DecryptCommand({ CiphertextBlob: reEncrypted.CiphertextBlob, EncryptionContext: context }),
  );
  assert.equal(decrypted.KeyId, second);
  assert.deepEqual(decrypted.Plaintext, generated.Plaintext);
});

void test('unknown keys, tampered blobs and denied or disabled keys fail as KMS does', async () => {
  const keyId = fixture.createKey();
  const generate = (id: string) =>
    client.send(new GenerateDataKeyCommand({ KeyId: id, KeySpec: 'AES_256' }));
  assert.equal(await errorName(generate('alias/nope')), 'NotFoundException');
  assert.equal(await errorName(generate(`${keyId.slice(0, -4)}beef`)), 'NotFoundException');

  const blob = Buffer.from((await generate(keyId)).CiphertextBlob ?? []);
  blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1;
  const decrypt = client.send(new DecryptCommand({ CiphertextBlob: blob }));
  assert.equal(await errorName(decrypt), 'InvalidCiphertextException');

  fixture.denyAccess(keyId);
  assert.equal(await errorName(generate(keyId)), 'AccessDeniedException');
  fixture.reset();
  fixture.disableKey(keyId);
  assert.equal(await errorName(generate(keyId)), 'DisabledException');
});

void test('injected throttling and 5xx failures hit the next calls only, and every call is counted', async () => {
  const keyId = fixture.createKey();
  const generate = () =>
    client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
  fixture.throttleNext(2);
  assert.equal(await errorName(generate()), 'ThrottlingException');
  assert.equal(await errorName(generate()), 'ThrottlingException');
  assert.equal(await errorName(generate()), 'no error');
  fixture.failNext(1, 503);
  await assert.rejects(generate(), (err: unknown) => {
    assert.ok(err instanceof Error && '$metadata' in err);
    assert.deepEqual((err.$metadata as { httpStatusCode?: number }).httpStatusCode, 503);
    return true;
  });
  assert.equal(fixture.calls('GenerateDataKey'), 4);
  assert.equal(fixture.calls('Decrypt'), 0);
  assert.equal(fixture.calls(), 4);
});

void test('requests must be SigV4-signed by the fixture credentials, as JSON 1.1', async () => {
  const keyId = fixture.createKey();
  const body = { KeyId: keyId, KeySpec: 'AES_256' } as const;
  const target = { 'x-amz-target': 'TrentService.GenerateDataKey' };

  const unsigned = await raw(target, body);
  assert.equal(unsigned.status, 400);
  assert.deepEqual(
    ((await unsigned.json()) as { __type: string }).__type,
    'IncompleteSignatureException',
  );

  const forged = await raw(
    {
      ...target,
      'x-amz-date': '20250101T000000Z',
      authorization:
        `AWS4-HMAC-SHA256 Credential=${fixture.credentials.accessKeyId}/20250101/us-east-1/kms/aws4_request, ` +
        `SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    },
    body,
  );
  assert.equal(forged.status, 400);
  assert.equal(((await forged.json()) as { __type: string }).__type, 'InvalidSignatureException');
  assert.deepEqual(
    fixture.requests.map((request) => request.signed),
    [false, false],
  );

  await client.send(new GenerateDataKeyCommand(body));
  assert.equal(fixture.requests.at(-1)?.signed, true);
});
