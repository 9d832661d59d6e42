import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, failure } from '../support/api-client.js';
import { spawnServer } from '../support/child-server.js';

const BACKEND_OLD = 'backend-key-old-0123456789';
const BACKEND_NEW = 'backend-key-new-0123456789';
const FRONTEND = 'frontend-key-0123456789';
const SECRET_OLD = 'old:an-old-signing-secret-of-at-least-32-chars';
const SECRET_NEW = 'new:a-new-signing-secret-of-at-least-32-chars!';

test('SIGHUP rotates API keys and signing secrets without a restart; old tokens work until their secret goes', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-rotate-'));
  const file = join(dataDir, 'config.json');
  const configure = (config: object) => writeFile(file, JSON.stringify(config));
  await configure({
    backendKeys: [BACKEND_OLD],
    frontendKeys: [FRONTEND],
    signingSecrets: [SECRET_OLD],
  });
  const child = await spawnServer(dataDir, {
    PROGRESSDB_CONFIG: file,
    PROGRESSDB_ADMIN_KEYS: '',
    PROGRESSDB_BACKEND_KEYS: '',
  });
  const reloaded = async (expect = 'reloaded API keys'): Promise<void> => {
    const seen = child.waitForLine(expect);
    child.process.kill('SIGHUP');
    await seen;
  };
  try {
    const backend = (key: string) =>
      connect(child.address, { authorization: `Bearer ${key}`, 'x-user-id': 'alice' });
    const old = backend(BACKEND_OLD);
    await old.threads.createThread({ threadId: 'rotating', memberIds: ['dana'] });
    const { token } = await old.auth.signUser({ userId: 'dana', ttlSeconds: 600 });
    const frontend = connect(child.address, {
      authorization: `Bearer ${FRONTEND}`,
      'x-user-token': token,
    });
    assert.equal(
      (await frontend.threads.getThread({ threadId: 'rotating' })).thread?.id,
      'rotating',
    );

    // Step 1: add the new key and make the new secret current; the old ones still work.
    await configure({
      backendKeys: [BACKEND_NEW, BACKEND_OLD],
      frontendKeys: [FRONTEND],
      signingSecrets: [SECRET_NEW, SECRET_OLD],
    });
    await reloaded();
    const fresh = backend(BACKEND_NEW);
    const signed = await fresh.auth.signUser({ userId: 'dana', ttlSeconds: 600 });
    assert.match(signed.token, /^v1\.new\./);
    assert.equal(
      (await frontend.threads.getThread({ threadId: 'rotating' })).thread?.id,
      'rotating',
    );

    // Step 2: retire the old key and secret; what they signed stops working, the new ones go on.
    await configure({
      backendKeys: [BACKEND_NEW],
      frontendKeys: [FRONTEND],
      signingSecrets: [SECRET_NEW],
    });
    await reloaded();
    const retired = await failure(old.threads.getThread({ threadId: 'rotating' }));
    assert.deepEqual(
      [retired.code, retired.reason],
      [grpc.status.UNAUTHENTICATED, 'INVALID_API_KEY'],
    );
    const stale = await failure(frontend.threads.getThread({ threadId: 'rotating' }));
    assert.deepEqual(
      [stale.code, stale.reason],
      [grpc.status.UNAUTHENTICATED, 'INVALID_USER_TOKEN'],
    );
    const current = connect(child.address, {
      authorization: `Bearer ${FRONTEND}`,
      'x-user-token': signed.token,
    });
    assert.equal(
      (await current.threads.getThread({ threadId: 'rotating' })).thread?.id,
      'rotating',
    );

    // A broken configuration on reload keeps what is in force.
    await writeFile(file, '{ not json');
    await reloaded('reload failed');
    assert.equal((await fresh.threads.getThread({ threadId: 'rotating' })).thread?.id, 'rotating');
    for (const api of [old, fresh, frontend, current]) api.close();
  } finally {
    await child.stop('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
});
