import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from './config/index.js';
import { DataKeyCache, LocalKeyProvider, type KeyProvider } from './crypto/index.js';
import { Retention, RetentionScheduler, ThreadAdmin, ThreadKeys, ThreadLog } from './log/index.js';
import { resolveApiKeys, type ResolvedApiKeys } from './server/api-keys.js';
import { ProgressDbServer } from './server/progressdb-server.js';
import { CallRateLimiter } from './server/rate-limiter.js';
import { resolveSigningSecrets, type ResolvedSigningSecrets } from './server/signing-secrets.js';
import { UserTokenSigner } from './server/user-tokens.js';
import { RocksStore } from './storage/index.js';
import type { TailHub } from './tail/index.js';
import { serveMetrics, type Logger, type MetricsEndpoint } from './telemetry/index.js';
import { databasePath, MASTER_KEY_FILE_NAME } from './data-folder.js';

/** A running ProgressDB: the server, the log and the store, closed in reverse order. */
export interface App {
  /** The bound `host:port`. */
  readonly address: string;
  readonly port: number;
  readonly keys: ResolvedApiKeys;
  readonly secrets: ResolvedSigningSecrets;
  readonly log: ThreadLog;
  /** The retention policies, to run on demand (the scheduler runs them on its own). */
  readonly retention: Retention;
  /** The live tails (for stats). */
  readonly tails: TailHub<unknown>;
  /** Where Prometheus scrapes `/metrics`, when served. */
  readonly metricsUrl: string | undefined;
  /** Graceful shutdown: drain calls, commit queued writes, stop the server, close the database. */
  close(): Promise<void>;
}

/**
 * The key provider of envelope encryption: the local master key file (generated with mode 0600 in
 * the data folder unless a file is configured), or AWS KMS.
 */
async function openKeyProvider(config: Config): Promise<KeyProvider> {
  const encryption = config.encryption;
  if (encryption.provider === 'aws' && encryption.awsKeyId && encryption.awsRegion) {
    // Loaded here only: the AWS SDK costs ~20 MB of memory that the local provider does not need.
    const { AwsKmsKeyProvider } = await import('./crypto/aws-kms-key-provider.js');
    return new AwsKmsKeyProvider({
      keyId: encryption.awsKeyId,
      region: encryption.awsRegion,
      ...(encryption.awsEndpoint ? { endpoint: encryption.awsEndpoint } : {}),
    });
  }
  const configured = encryption.masterKeyFile;
  return LocalKeyProvider.open({
    file: configured ? resolve(configured) : join(config.dataDir, MASTER_KEY_FILE_NAME),
    createIfMissing: configured === undefined,
  });
}

/** Serves `/metrics` when telemetry is on and an address is configured; logs where, once. */
async function startMetrics(config: Config, logger: Logger): Promise<MetricsEndpoint | undefined> {
  const { enabled, metricsListen } = config.telemetry;
  if (!enabled || !metricsListen) return undefined;
  const endpoint = await serveMetrics(metricsListen);
  logger.info({ url: endpoint.url }, `metrics on ${endpoint.url}`);
  return endpoint;
}

/**
 * Wires ProgressDB together from a loaded configuration: keys, storage, encryption, the log, the
 * gRPC server. Data flow: config → (RocksStore, KeyProvider → ThreadKeys) → ThreadLog → server.
 */
export async function startApp(config: Config, logger: Logger): Promise<App> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const keys = await resolveApiKeys(config);
  const secrets = await resolveSigningSecrets(config);
  const tokens = new UserTokenSigner(secrets.keyring, { maxTtlSeconds: config.maxTokenTtlSeconds });
  const limits = new CallRateLimiter(config.rateLimits);
  // Started before what can fail to open below, each of which closes it; closed last.
  const metrics = await startMetrics(config, logger);
  const provider = await openKeyProvider(config).catch(async (error: unknown) => {
    await metrics?.close();
    throw error;
  });
  const store = await RocksStore.open(databasePath(config.dataDir)).catch(
    async (error: unknown) => {
      await provider.close();
      await metrics?.close();
      throw error;
    },
  );
  const threadKeys = new ThreadKeys(store, {
    provider,
    cache: new DataKeyCache({
      maxEntries: config.encryption.keyCacheSize,
      ttlMs: config.encryption.keyCacheTtlMs,
    }),
    sealing: config.encryption.enabled,
    sealTitles: config.encryption.encryptTitles,
    onConfigurationError: (error) =>
      logger.error(
        { err: error, provider: provider.kind },
        'the key provider refused access to a data key: check the KMS key id and its permissions',
      ),
  });
  const log = new ThreadLog(store, threadKeys, {
    durability: config.durability,
    maxGroupCommands: config.writer.maxGroupCommands,
  });
  const admin = new ThreadAdmin(store, log, threadKeys);
  const retention = new Retention(store, log, admin, config.retention);
  let server: ProgressDbServer;
  try {
    server = await ProgressDbServer.start({
      log,
      auth: { keys: keys.registry, tokens },
      limits,
      admin,
      retention,
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
    await provider.close();
    await metrics?.close();
    throw error;
  }
  const retentionRuns = new RetentionScheduler(
    retention,
    config.retention.intervalSeconds * 1000,
    ({ report, error }) => {
      if (report === undefined) {
        logger.error({ err: error }, 'retention run failed; the next run resumes it');
        return;
      }
      const removed = report.threadsPurged + report.messagesPurged + report.versionsPurged;
      if (removed === 0n) return;
      logger.info(
        {
          threadsPurged: report.threadsPurged,
          messagesPurged: report.messagesPurged,
          versionsPurged: report.versionsPurged,
        },
        'retention removed expired data',
      );
    },
  );
  retentionRuns.start();
  server.serving();
  let closing: Promise<void> | undefined;
  return {
    address: server.address,
    port: server.port,
    keys,
    secrets,
    log,
    retention,
    tails: server.tails,
    metricsUrl: metrics?.url,
    close() {
      closing ??= (async () => {
        await server.drain();
        await retentionRuns.stop();
        await log.close();
        await server.stop();
        await store.close();
        await provider.close();
        await metrics?.close();
      })();
      return closing;
    },
  };
}
