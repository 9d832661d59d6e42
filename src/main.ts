import { ConfigError, configUsage, loadConfig } from './config/index.js';
import { startApp } from './app.js';
import { createLogger } from './telemetry/index.js';

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
  const app = await startApp(config, logger);
  const { keys } = app;
  if (keys.generated) {
    logger.info(
      { file: keys.generated.file },
      'no API keys configured: generated one admin and one backend key (mode 0600)',
    );
  }
  if (keys.tightenedModeFrom !== undefined) {
    logger.warn({ file: keys.file }, 'the API key file was readable by others: now mode 0600');
  }
  logger.info(
    { address: app.address, dataDir: config.dataDir, durability: config.durability },
    `listening on ${app.address}`,
  );
  if (keys.file) {
    process.stderr.write(
      `\nProgressDB is listening on ${app.address} (gRPC, plaintext).\n` +
        `API keys: ${keys.file}\n` +
        `Try it:   npm run example   (uses the backend key from that file)\n\n`,
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
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
}

main().catch((error: unknown) => {
  process.stderr.write(`progressdb failed to start: ${String(error)}\n`);
  process.exit(1);
});
