import { join } from 'node:path';

/**
 * What ProgressDB keeps in its data folder (`PROGRESSDB_DATA_DIR`), named once for the server,
 * the CLI and restores. Imports nothing of the server, so the CLI can use it without loading it.
 */

/** The RocksDB database. */
export const DATABASE_FOLDER = 'db';

/** The local KMS provider's master keys (mode 0600), generated on first start. */
export const MASTER_KEY_FILE_NAME = 'master-keys.json';

/** The API keys generated when none are configured (mode 0600). */
export const API_KEY_FILE_NAME = 'api-keys.json';

/** The user-token signing secrets generated when none are configured (mode 0600). */
export const SIGNING_SECRET_FILE_NAME = 'signing-secrets.json';

/** The folder of the RocksDB database inside the data folder. */
export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FOLDER);
}
