import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CliError } from '../connection.js';

const MAIN = fileURLToPath(new URL('../../main.ts', import.meta.url));
const TELEMETRY_PRELOAD = fileURLToPath(new URL('../../telemetry/preload.mjs', import.meta.url));
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The node arguments that start the server exactly as `npm start` does, with the telemetry preload
 * loaded before grpc-js (when it exists) and `flags` passed to the configuration loader.
 */
function serverArgs(flags: readonly string[]): string[] {
  const preload = existsSync(TELEMETRY_PRELOAD)
    ? ['--import', pathToFileURL(TELEMETRY_PRELOAD).href]
    : [];
  return ['--import', import.meta.resolve('tsx'), ...preload, MAIN, ...flags];
}

/**
 * Runs the server as a child node process, forwarding SIGINT, SIGTERM and SIGHUP (key reload) to
 * it, and resolves with the exit code to leave with: the server's, or 128 + the signal's number.
 */
async function runServer(flags: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, serverArgs(flags), {
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error) =>
        reject(new CliError(`cannot start the server: ${error.message}`)),
      );
      child.once('exit', (code, signal) => {
        resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
      });
    });
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
}

let serverUsage: string | undefined;

/**
 * Loads the server's settings for `serve --help` (the configuration loader's own usage text). The
 * CLI calls it only when `serve` is on the command line, so other commands never load the config.
 */
export async function prepare(): Promise<void> {
  const { configUsage } = await import('../../config/index.js');
  serverUsage = configUsage();
}

/** The server's settings, from the configuration loader's own usage text. */
function settingsHelp(): string {
  const usage = serverUsage ?? '';
  const options = usage.indexOf('Options:');
  return `
Server settings (passed to the server unchanged; defaults < --config file < PROGRESSDB_* < flags):
${options === -1 ? usage : usage.slice(options + 'Options:'.length + 1)}
Examples:
  $ progressdb serve
  $ progressdb serve --listen 0.0.0.0:50051 --tls-cert-file cert.pem --tls-key-file key.pem
  $ progressdb serve --data-dir /var/lib/progressdb --durability os --metrics-listen off`;
}

/** `progressdb serve`: runs the server in the foreground, exactly like `npm start`. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run the server in the foreground, like `npm start`')
    .argument('[settings...]', 'server flags, such as --listen 127.0.0.1:50051 --data-dir ./data')
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .addHelpText('after', settingsHelp)
    .action(async (settings: string[]) => {
      process.exitCode = await runServer(settings);
    });
}
