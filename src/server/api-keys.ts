import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { API_KEY_FILE_NAME } from '../data-folder.js';

/** What a key may do; see the role matrix in API.md. Frontend keys also need a signed user token. */
export type Role = 'admin' | 'backend' | 'frontend';

/** The public face of a key: a short id safe to log, and its role. */
export interface ApiKeyIdentity {
  /** First 8 hex characters of the key's SHA-256; identifies the key in logs without revealing it. */
  readonly id: string;
  readonly role: Role;
}

/** Raw keys per role, as configured or read from the key file. */
export interface ApiKeysByRole {
  readonly admin: readonly string[];
  readonly backend: readonly string[];
  readonly frontend?: readonly string[];
}

interface StoredKey {
  readonly hash: Buffer;
  readonly identity: ApiKeyIdentity;
}

function sha256(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function hashKeys(keys: ApiKeysByRole): Map<string, StoredKey> {
  const byHash = new Map<string, StoredKey>();
  const roles: [Role, readonly string[]][] = [
    ['admin', keys.admin],
    ['backend', keys.backend],
    ['frontend', keys.frontend ?? []],
  ];
  for (const [role, list] of roles) {
    for (const key of list) {
      const hash = sha256(key);
      const hex = hash.toString('hex');
      const existing = byHash.get(hex);
      if (existing !== undefined && existing.identity.role !== role) {
        throw new Error(`API key ${existing.identity.id} is configured for two roles`);
      }
      byHash.set(hex, { hash, identity: { id: hex.slice(0, 8), role } });
    }
  }
  return byHash;
}

/**
 * The API keys the server accepts, held as SHA-256 hashes only, so neither a heap dump nor a stray
 * log line of the registry reveals a key. Data flow: `authorization` header ⇒ lookup ⇒ role.
 */
export class ApiKeyRegistry {
  #byHash: ReadonlyMap<string, StoredKey>;

  /** @throws Error when the same key is given for two roles. */
  constructor(keys: ApiKeysByRole) {
    this.#byHash = hashKeys(keys);
  }

  /**
   * Swaps in a new set of keys at once, e.g. on SIGHUP after the operator edited the configuration
   * (pass the registry a fresh `resolveApiKeys` built): calls already authenticated keep running, the
   * next lookup sees only the new keys.
   * @throws Error when the same key is given for two roles; the old keys then stay in force.
   */
  replace(keys: ApiKeysByRole | ApiKeyRegistry): void {
    this.#byHash = keys instanceof ApiKeyRegistry ? keys.#byHash : hashKeys(keys);
  }

  /**
   * Finds the key a caller presented. The map is keyed by the hash, so lookup time depends on the hash,
   * which the caller cannot steer toward a real key; the final comparison is constant-time anyway.
   */
  lookup(presentedKey: string): ApiKeyIdentity | undefined {
    const hash = sha256(presentedKey);
    const stored = this.#byHash.get(hash.toString('hex'));
    if (stored === undefined || !timingSafeEqual(stored.hash, hash)) return undefined;
    return stored.identity;
  }

  /** Every key's public id and role, for startup logs and `GetStats`. */
  list(): ApiKeyIdentity[] {
    return [...this.#byHash.values()].map((stored) => stored.identity);
  }

  /** Serialises as the public list only. */
  toJSON(): { keys: ApiKeyIdentity[] } {
    return { keys: this.list() };
  }

  /** Inspects as the public list only. */
  [inspect.custom](): string {
    return `ApiKeyRegistry ${inspect(this.list())}`;
  }
}

const keyFileSchema = z.object({
  admin: z.array(z.string().min(16)),
  backend: z.array(z.string().min(16)),
  frontend: z.array(z.string().min(16)).optional(),
});

/** Where the keys came from, for `main.ts` to tell the operator. */
export interface ResolvedApiKeys {
  readonly registry: ApiKeyRegistry;
  /** The key file in use; absent when the keys came from configuration. */
  readonly file?: string;
  /** Set on the first start only: the keys just written to `file`, for main to show once. */
  readonly generated?: {
    readonly file: string;
    readonly admin: string;
    readonly backend: string;
    readonly frontend: string;
  };
  /** Set when the key file was readable by group or others: its old permission bits, now 0600. */
  readonly tightenedModeFrom?: number;
}

/**
 * Builds the key registry: configured keys (of any role) win; with none configured, the key file in
 * the data folder is used, and on the first start it is created with one fresh admin, backend and
 * frontend key (mode 0600). Key files written before frontend keys existed stay valid as they are.
 * @throws Error when the key file cannot be read, is malformed or holds no key.
 */
export async function resolveApiKeys(opts: {
  dataDir: string;
  adminKeys: readonly string[];
  backendKeys: readonly string[];
  frontendKeys?: readonly string[];
}): Promise<ResolvedApiKeys> {
  const frontendKeys = opts.frontendKeys ?? [];
  if (opts.adminKeys.length + opts.backendKeys.length + frontendKeys.length > 0) {
    return {
      registry: new ApiKeyRegistry({
        admin: opts.adminKeys,
        backend: opts.backendKeys,
        frontend: frontendKeys,
      }),
    };
  }
  const file = join(opts.dataDir, API_KEY_FILE_NAME);
  const existing = await readPrivateFile(file);
  if (existing === undefined) {
    const keys = {
      admin: newKey('admin'),
      backend: newKey('backend'),
      frontend: newKey('frontend'),
    };
    const byRole = { admin: [keys.admin], backend: [keys.backend], frontend: [keys.frontend] };
    await writePrivateFile(opts.dataDir, file, `${JSON.stringify(byRole, null, 2)}\n`);
    return { registry: new ApiKeyRegistry(byRole), file, generated: { file, ...keys } };
  }
  return {
    registry: new ApiKeyRegistry(parseKeyFile(file, existing.text)),
    file,
    ...(existing.tightenedModeFrom === undefined
      ? {}
      : { tightenedModeFrom: existing.tightenedModeFrom }),
  };
}

function newKey(role: Role): string {
  return `pdb_${role}_${randomBytes(32).toString('base64url')}`;
}

function parseKeyFile(file: string, text: string): ApiKeysByRole {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`API key file ${file} is not valid JSON`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new Error(`API key file ${file} is malformed at ${where}`);
  }
  const keys = parsed.data;
  if (keys.admin.length + keys.backend.length + (keys.frontend?.length ?? 0) === 0) {
    throw new Error(
      `API key file ${file} holds no key; add keys or delete it to generate new ones`,
    );
  }
  return keys;
}

/** A private file's text, and its old permission bits when it had to be tightened to 0600. */
export interface PrivateFileText {
  readonly text: string;
  /** Set when the file was readable by group or others: its old permission bits, now 0600. */
  readonly tightenedModeFrom?: number;
}

/**
 * Reads a file of secrets, first tightening it to 0600 if group or others could read it.
 * Shared by the API key file and the signing-secret file.
 * @returns undefined when the file does not exist.
 * @throws Error from the file system for any other failure.
 */
export async function readPrivateFile(file: string): Promise<PrivateFileText | undefined> {
  const existing = await stat(file).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (existing === undefined) return undefined;
  const openBits = existing.mode & 0o077;
  if (openBits !== 0) await chmod(file, 0o600);
  const text = await readFile(file, 'utf8');
  return openBits === 0 ? { text } : { text, tightenedModeFrom: existing.mode & 0o777 };
}

/**
 * Writes a file of secrets atomically with mode 0600: a private temp file, fsynced, then renamed
 * over the target; creates `dataDir` (0700) first. Shared by the API key and signing-secret files.
 */
export async function writePrivateFile(dataDir: string, file: string, text: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      // The umask may have cleared bits of 0600; set it exactly.
      await handle.chmod(0o600);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(dataDir);
}

/** Makes the rename durable; some platforms cannot open a directory, and there it is best effort. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    return;
  } finally {
    await handle?.close();
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}
