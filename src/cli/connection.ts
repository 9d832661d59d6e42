import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ClientOptions, ProgressDBClient } from '../../sdk/src/index.js';
import { API_KEY_FILE_NAME as KEY_FILE_NAME } from '../data-folder.js';
import { CliError } from './cli-error.js';

/** The address a client command connects to when neither `--address` nor the environment names one. */
const DEFAULT_ADDRESS = '127.0.0.1:50051';

/** Which key a command needs when none is given: admin commands read the file's admin key. */
export type KeyRole = 'admin' | 'backend';

/** The connection flags every client command takes, as commander parses them. */
export interface ConnectionOptions {
  readonly address: string;
  readonly apiKey?: string;
  readonly user?: string;
  readonly tlsCa?: string;
  readonly keyFile?: string;
}

/**
 * Adds the connection flags to a command: `--address`, `--api-key`, `--user`, `--tls-ca` and
 * `--key-file`, each with its environment variable. Every command that talks to a server calls this.
 */
export function addConnectionOptions(command: Command): Command {
  const options = [
    new Option('--address <host:port>', 'server address; https://host:port for TLS')
      .env('PROGRESSDB_ADDRESS')
      .default(DEFAULT_ADDRESS),
    new Option(
      '--api-key <key>',
      `API key; default: the admin or backend key in ./data/${KEY_FILE_NAME}`,
    ).env('PROGRESSDB_API_KEY'),
    new Option('--user <id>', 'with a backend key: the user to act as (x-user-id)').env(
      'PROGRESSDB_USER',
    ),
    new Option('--tls-ca <file>', 'CA certificate (PEM) to trust; turns TLS on').env(
      'PROGRESSDB_TLS_CA',
    ),
    new Option('--key-file <file>', 'the server key file to read the API key from')
      .env('PROGRESSDB_KEY_FILE')
      .hideHelp(),
  ];
  for (const option of options) command.addOption(option.helpGroup('Connection:'));
  return command;
}

/** The key file a command falls back to: `--key-file`, else `$PROGRESSDB_DATA_DIR` or `./data`. */
function keyFilePath(options: ConnectionOptions): string {
  if (options.keyFile !== undefined) return resolve(options.keyFile);
  const dataDir = process.env.PROGRESSDB_DATA_DIR ?? 'data';
  return resolve(join(dataDir, KEY_FILE_NAME));
}

/**
 * The first key of `role` in the server's generated key file, when the file exists.
 * @throws CliError when the file exists but cannot be used.
 */
async function keyFromFile(file: string, role: KeyRole): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read the key file ${file}: ${(error as Error).message}`);
  }
  try {
    const keys = JSON.parse(text) as Partial<Record<KeyRole, unknown>>;
    const list = keys[role];
    const key = Array.isArray(list) ? (list[0] as unknown) : undefined;
    return typeof key === 'string' ? key : undefined;
  } catch {
    throw new CliError(`the key file ${file} is not valid JSON`);
  }
}

/**
 * The API key to use: `--api-key` / `PROGRESSDB_API_KEY`, else the `role` key of the key file.
 * @throws CliError (exit code 2) when there is none.
 */
async function resolveApiKey(options: ConnectionOptions, role: KeyRole): Promise<string> {
  if (options.apiKey !== undefined && options.apiKey !== '') return options.apiKey;
  const file = keyFilePath(options);
  const key = await keyFromFile(file, role);
  if (key !== undefined) return key;
  throw new CliError(
    `no API key: pass --api-key or set PROGRESSDB_API_KEY (an ${role} key), ` +
      `or run from the folder where \`npm start\` wrote ${join('data', KEY_FILE_NAME)}`,
    2,
  );
}

/** A client and where it points, for commands and the error printer. */
export interface Connection {
  readonly client: ProgressDBClient;
  readonly address: string;
  close(): void;
}

/**
 * Builds an SDK client from a command's connection flags. Admin commands pass `role: 'admin'`, so
 * the key file's admin key is picked when no key is given.
 * @throws CliError when no key is found or the CA file cannot be read.
 */
export async function connect(options: ConnectionOptions, role: KeyRole): Promise<Connection> {
  const apiKey = await resolveApiKey(options, role);
  let tls: ClientOptions['tls'];
  if (options.tlsCa !== undefined) {
    try {
      tls = { rootCerts: await readFile(options.tlsCa) };
    } catch (error) {
      throw new CliError(`cannot read --tls-ca ${options.tlsCa}: ${(error as Error).message}`, 2);
    }
  }
  // Loaded here rather than at the top, so that `--help` and `serve` start without grpc-js.
  const { createClient } = await import('../../sdk/src/index.js');
  const client = createClient({
    address: options.address,
    apiKey,
    ...(options.user === undefined || options.user === '' ? {} : { userId: options.user }),
    ...(tls === undefined ? {} : { tls }),
    // A person is waiting: give up on an unreachable server after a few quick tries.
    retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 500 },
  });
  return { client, address: options.address, close: () => client.close() };
}

export { action, CliError, EXIT_USAGE, isCancelled, printError } from './cli-error.js';
