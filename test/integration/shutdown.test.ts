import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { Metadata } from '@grpc/grpc-js';
import { ApiKeyRegistry } from '../../src/server/api-keys.js';
import { unary } from '../../src/server/call-adapters.js';
import { CallGate } from '../../src/server/call-gate.js';
import { CallRateLimiter } from '../../src/server/rate-limiter.js';
import { SigningKeyring } from '../../src/server/signing-secrets.js';
import { UserTokenSigner } from '../../src/server/user-tokens.js';
import { createLogger } from '../../src/telemetry/index.js';
import { connect, errorInfo } from '../support/api-client.js';
import { spawnServer } from '../support/child-server.js';
import { startTestServer, TEST_KEYS } from '../support/test-server.js';

interface HealthClient extends grpc.Client {
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response: { status: string }) => void,
  ): void;
}

function healthClient(address: string): HealthClient {
  const definition = loadSync(protoPath, { enums: String, keepCase: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (...args: unknown[]) => HealthClient } } };
  };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

test('shutdown: health turns NOT_SERVING, calls in flight finish, the data is all there', async () => {
  let server = await startTestServer();
  const api = server.api();
  const health = healthClient(server.address);
  const statuses: string[] = [];
  const watch = health.watch({ service: 'progressdb.v1.MessageService' });
  const sawServing = new Promise<void>((resolve) =>
    watch.on('data', (update: { status: string }) => {
      statuses.push(update.status);
      if (update.status === 'SERVING') resolve();
    }),
  );
  watch.on('error', () => undefined);
  await sawServing;
  const inFlight = Array.from({ length: 100 }, (_, i) =>
    api.messages.appendMessage({ threadId: 'drain', role: 'user', body: i, createThread: true }),
  );
  // Shut down once the first answer is back: the rest are in flight or on their way.
  await Promise.race(inFlight);
  const closing = server.app.close();
  const settled = await Promise.allSettled(inFlight);
  await closing;
  assert.ok(statuses.includes('NOT_SERVING'), `health went ${statuses.join(' → ')}`);
  const acknowledged = settled.filter((result) => result.status === 'fulfilled').length;
  for (const result of settled) {
    if (result.status === 'rejected') {
      assert.equal((result.reason as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    }
  }
  watch.cancel();
  health.close();
  api.close();
  server = await server.restart();
  try {
    const thread = await server.api().threads.getThread({ threadId: 'drain' });
    assert.equal(thread.thread?.messageCount, BigInt(acknowledged));
  } finally {
    await server.close();
  }
});

test('a call arriving while the server drains gets UNAVAILABLE with reason SHUTTING_DOWN', async () => {
  const gate = new CallGate();
  const keys = new ApiKeyRegistry({ admin: [], backend: [TEST_KEYS.backend] });
  const tokens = new UserTokenSigner(
    new SigningKeyring([{ kid: 'k1', secret: 'a-test-signing-secret-of-32-chars-or-more' }]),
  );
  const limits = new CallRateLimiter({
    keyPerSecond: 0,
    keyBurst: 1,
    userPerSecond: 0,
    userBurst: 1,
    applyToAdmin: false,
    maxTailsPerUser: 0,
  });
  const handler = unary(
    { auth: { keys, tokens }, limits, gate, logger: createLogger({ level: 'silent' }) },
    'ThreadService',
    'GetThread',
    () => ({ ok: true }),
  );
  await gate.drain();
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${TEST_KEYS.backend}`);
  const error = await new Promise<grpc.ServiceError>((resolve) => {
    // The smallest call object the adapter reads; a real draining window is too short to hit.
    const call = { request: {}, metadata } as unknown as grpc.ServerUnaryCall<object, object>;
    handler(call, (err) => resolve(err as grpc.ServiceError));
  });
  assert.equal(error.code, grpc.status.UNAVAILABLE);
  assert.equal(errorInfo(error)?.reason, 'SHUTTING_DOWN');
});

test('SIGTERM stops the server process cleanly (exit code 0) with every acknowledged write kept', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-term-'));
  try {
    const child = await spawnServer(dataDir);
    const api = connect(child.address, {
      authorization: `Bearer ${TEST_KEYS.backend}`,
      'x-user-id': 'alice',
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api.messages.appendMessage({ threadId: 'term', role: 'user', body: i, createThread: true }),
      ),
    );
    api.close();
    const exit = await child.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null });
    const server = await startTestServer({ dataDir });
    try {
      const thread = await server.api().threads.getThread({ threadId: 'term' });
      assert.equal(thread.thread?.messageCount, BigInt(results.length));
    } finally {
      await server.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
