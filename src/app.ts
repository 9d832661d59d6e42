import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config/index.js';
import { ThreadLog } from './log/index.js';
import { resolveApiKeys, type ResolvedApiKeys } from './server/api-keys.js';
import { ProgressDbServer } from './server/progressdb-server.js';
import { CallRateLimiter } from './server/rate-limiter.js';
import { resolveSigningSecrets, type ResolvedSigningSecrets } from './server/signing-secrets.js';
import { UserTokenSigner } from './server/user-tokens.js';
import { RocksStore } from './storage/index.js';
import type { TailHub } from './tail/index.js';
import type { Logger } from './telemetry/index.js';

/** A running ProgressDB: the server, the log and the store, closed in reverse order. */
export interface App {
  /** The bound `host:port`. */
  readonly address: string;
  readonly port: number;
  readonly keys: ResolvedApiKeys;
  readonly secrets: ResolvedSigningSecrets;
  readonly log: ThreadLog;
  /** The live tails (for stats). */
  readonly tails: TailHub<unknown>;
  /** Graceful shutdown: drain calls, commit queued writes, stop the server, close the database. */
  close(): Promise<void>;
}

/** The folder of the RocksDB database inside the data folder. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'db');
}

/**
 * Wires ProgressDB together from a loaded configuration: storage, the log, the gRPC server.
 * Data flow: config → RocksStore → ThreadLog → ProgressDbServer.
 */
export async function startApp(config: Config, logger: Logger): Promise<App> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const keys = await resolveApiKeys(config);
  const secrets = await resolveSigningSecrets(config);
  const tokens = new UserTokenSigner(secrets.keyring, { maxTtlSeconds: config.maxTokenTtlSeconds });
  const limits = new CallRateLimiter(config.rateLimits);
  const store = await RocksStore.open(databasePath(config.dataDir));
  const log = new ThreadLog(store, {
    durability: config.durability,
    maxGroupCommands: config.writer.maxGroupCommands,
  });
  let server: ProgressDbServer;
  try {
    server = await ProgressDbServer.start({
      log,
      auth: { keys: keys.registry, tokens },
      limits,
      logger,
      options: {
        host: config.listen.host,
        port: config.listen.port,
        limits: config.limits,
        maxReceiveMessageBytes: config.limits.maxReceiveMessageBytes,
        shutdownGraceMs: config.shutdownGraceMs,
        tails: config.tails,
        tls: config.tls,
      },
    });
  } catch (error) {
    await log.close();
    await store.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    address: server.address,
    port: server.port,
    keys,
    secrets,
    log,
    tails: server.tails,
    close() {
      closing ??= (async () => {
        await server.drain();
        await log.close();
        await server.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
