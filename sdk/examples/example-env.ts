/**
 * Where the examples find a server and keys when run by hand: PROGRESSDB_ADDRESS (default
 * 127.0.0.1:50051), PROGRESSDB_API_KEY and PROGRESSDB_FRONTEND_KEY (default: the first backend and
 * frontend keys in $PROGRESSDB_DATA_DIR/api-keys.json, which `npm start` writes; data dir default
 * ./data), PROGRESSDB_USER (default alice).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UnavailableError } from '../src/index.js';

/** The connection settings of an example run by hand. */
export interface ExampleEnv {
  readonly address: string;
  readonly backendKey: string;
  readonly frontendKey: string | undefined;
  readonly userId: string;
}

/** The first key of `role` in the server's key file. */
async function keyFromFile(
  file: string,
  role: 'backend' | 'frontend',
): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const keys = JSON.parse(text) as Record<string, unknown>;
  const list = keys[role];
  const key = Array.isArray(list) ? (list[0] as unknown) : undefined;
  return typeof key === 'string' ? key : undefined;
}

/** Reads the environment (empty counts as unset, as for the server's own settings). */
export async function exampleEnv(): Promise<ExampleEnv> {
  const env = process.env;
  const file = join(env.PROGRESSDB_DATA_DIR || 'data', 'api-keys.json');
  const backendKey = env.PROGRESSDB_API_KEY || (await keyFromFile(file, 'backend'));
  if (backendKey === undefined) {
    throw new Error(
      `no API key: set PROGRESSDB_API_KEY, or start the server first (npm start) so that it writes ${file}`,
    );
  }
  return {
    address: env.PROGRESSDB_ADDRESS || '127.0.0.1:50051',
    backendKey,
    frontendKey: env.PROGRESSDB_FRONTEND_KEY || (await keyFromFile(file, 'frontend')),
    userId: env.PROGRESSDB_USER || 'alice',
  };
}

/**
 * Runs `main` when `moduleUrl` is the script node was started with, and reports failures on one
 * line (a server that is not running, in particular).
 */
export function runIfMain(moduleUrl: string, name: string, main: () => Promise<void>): void {
  const script = process.argv[1];
  if (script === undefined || moduleUrl !== pathToFileURL(script).href) return;
  main().catch((error: unknown) => {
    // UNAVAILABLE without a ProgressDB reason: no server answered.
    const hint =
      error instanceof UnavailableError && error.reason === undefined
        ? ' (is the server running? npm start)'
        : '';
    console.error(
      `${name} failed: ${error instanceof Error ? error.message : String(error)}${hint}`,
    );
    process.exitCode = 1;
  });
}
