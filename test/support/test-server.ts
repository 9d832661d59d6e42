import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/telemetry/index.js';
import { connect, type Api } from './api-client.js';

/** The API keys every test server accepts. */
export const TEST_KEYS = {
  admin: 'test-admin-key-0123456789',
  backend: 'test-backend-key-0123456789',
} as const;

/** gRPC metadata of a backend key acting as `user`, for the raw (streaming) clients. */
export function backendMetadata(user = 'alice'): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TEST_KEYS.backend}`);
  metadata.set('x-user-id', user);
  return metadata;
}

/** A real ProgressDB on 127.0.0.1:0 with a temp data folder, and clients for it. */
export interface TestServer {
  readonly address: string;
  readonly dataDir: string;
  readonly app: App;
  /** Clients with a backend key acting as `user` (default "alice"). */
  api(user?: string): Api;
  /** Clients with the given metadata. */
  apiWith(metadata: Record<string, string>): Api;
  /** Stops the server (keeping the data folder) and starts it again on the same folder. */
  restart(): Promise<TestServer>;
  /** Stops the server and removes the data folder. */
  close(): Promise<void>;
}

/** Options of `startTestServer`. */
export interface TestServerOptions {
  dataDir?: string;
  env?: Record<string, string>;
  /** The server's logger; default silent. */
  logger?: Logger;
}

/** Starts the real server on 127.0.0.1:0 with a temp data folder. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'progressdb-test-')));
  const config = loadConfig({
    argv: [],
    env: {
      PROGRESSDB_DATA_DIR: dataDir,
      PROGRESSDB_LISTEN: '127.0.0.1:0',
      PROGRESSDB_ADMIN_KEYS: TEST_KEYS.admin,
      PROGRESSDB_BACKEND_KEYS: TEST_KEYS.backend,
      PROGRESSDB_DURABILITY: 'os',
      // Parallel test servers would fight for 9464: metrics only where a test asks for them.
      PROGRESSDB_METRICS_LISTEN: 'off',
      ...options.env,
    },
  });
  const app = await startApp(config, options.logger ?? createLogger({ level: 'silent' }));
  const channels: grpc.Channel[] = [];
  const clients: { close(): void }[] = [];
  const apiWith = (metadata: Record<string, string>): Api => {
    const api = connect(app.address, metadata);
    clients.push(api);
    return api;
  };
  let closed = false;
  const stop = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const client of clients) client.close();
    for (const channel of channels) channel.close();
    await app.close();
  };
  return {
    address: app.address,
    dataDir,
    app,
    api: (user = 'alice') =>
      apiWith({ authorization: `Bearer ${TEST_KEYS.backend}`, 'x-user-id': user }),
    apiWith,
    async restart() {
      await stop();
      return startTestServer({ ...options, dataDir });
    },
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
