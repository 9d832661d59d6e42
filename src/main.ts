import { resolve } from 'node:path';
import { ConfigError, configUsage, loadConfig } from './config/index.js';
import { startApp, type App } from './app.js';
import { resolveApiKeys } from './server/api-keys.js';
import { resolveSigningSecrets } from './server/signing-secrets.js';
import {
  createLogger,
  shutdownTelemetry,
  startTelemetry,
  telemetryOptionsFor,
  telemetryRuntime,
  type Logger,
} from './telemetry/index.js';

/**
 * On SIGHUP: reads the configuration again and swaps in its API keys and signing secrets, so keys
 * rotate without a restart. Other settings need a restart.
 */
async function reloadCredentials(app: App, logger: Logger): Promise<void> {
  const next = loadConfig();
  const keys = await resolveApiKeys(next);
  const secrets = await resolveSigningSecrets(next);
  app.keys.registry.replace(keys.registry);
  app.secrets.keyring.replace(secrets.keyring);
  logger.info(
    { apiKeys: app.keys.registry.list(), signingSecrets: app.secrets.keyring.list() },
    'reloaded API keys and signing secrets',
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The composition root: load configuration, start, and shut down cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n\n${configUsage()}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const telemetry = telemetryOptionsFor(config.telemetry);
  if (telemetry && !telemetryRuntime()) {
    startTelemetry(telemetry);
    logger.warn(
      'telemetry started without its preload: metrics and storage spans only; for gRPC spans run `node --import tsx --import ./src/telemetry/preload.mjs src/main.ts` (npm start)',
    );
  }
  const app = await startApp(config, logger);
  const { keys } = app;
  if (keys.generated) {
    logger.info(
      { file: keys.generated.file },
      'no API keys configured: generated one admin, one backend and one frontend key (mode 0600)',
    );
  }
  if (keys.tightenedModeFrom !== undefined) {
    logger.warn({ file: keys.file }, 'the API key file was readable by others: now mode 0600');
  }
  logger.info(
    {
      address: app.address,
      dataDir: config.dataDir,
      durability: config.durability,
      tls: config.tls ? (config.tls.clientCaFile ? 'mutual' : 'server') : 'off',
    },
    `listening on ${app.address}`,
  );
  if (!config.tls && !isLoopback(config.listen.host)) {
    logger.warn(
      { host: config.listen.host },
      'listening on a non-loopback address without TLS: keys and tokens travel in plaintext; set PROGRESSDB_TLS_CERT_FILE and PROGRESSDB_TLS_KEY_FILE',
    );
  }
  if (app.secrets.generated) {
    logger.info(
      { file: app.secrets.generated.file, kid: app.secrets.generated.kid },
      'no signing secrets configured: generated one for user tokens (mode 0600)',
    );
  }
  if (keys.file) {
    // The CLI finds the server and the key file on its defaults; say so when they differ.
    const cliEnv =
      config.dataDir === resolve('data') ? '' : `PROGRESSDB_DATA_DIR=${config.dataDir} `;
    const cliAddress = app.address === '127.0.0.1:50051' ? '' : ` --address ${app.address}`;
    process.stderr.write(
      `\nProgressDB is listening on ${app.address} (gRPC, ${config.tls ? 'TLS' : 'plaintext'}).\n` +
        `API keys: ${keys.file}\n` +
        `Try it:   npm run example   (uses the backend key from that file)\n` +
        `   or:    ${cliEnv}npx progressdb append demo "hello" --user alice${cliAddress}\n` +
        `          ${cliEnv}npx progressdb tail demo --user alice${cliAddress}   (docs/cli.md)\n\n`,
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app
      .close()
      .then(() => shutdownTelemetry())
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    reloadCredentials(app, logger).catch((error: unknown) => {
      logger.error({ err: error }, 'reload failed: the previous keys and secrets stay in force');
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`progressdb failed to start: ${String(error)}\n`);
  process.exit(1);
});
