import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

/** Size of a master key: AES-256. */
export const MASTER_KEY_BYTES = 32;

/** Master key ids: short printable ASCII, so they fit a length byte and are safe to log. */
const MASTER_KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const fileSchema = z.object({
  current: z.string().regex(MASTER_KEY_ID),
  keys: z.record(z.string().regex(MASTER_KEY_ID), z.string().regex(BASE64)),
});

/** The master keys of a key file, by id, and which one is current. */
export interface MasterKeys {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** What opening the key file did, for `main.ts` to tell the operator. */
export interface MasterKeyFileStatus {
  readonly path: string;
  /** True when the file did not exist and was just created with one fresh key. */
  readonly generated: boolean;
  /** Set when the file was readable by group or others: its old permission bits, now 0600. */
  readonly tightenedModeFrom?: number;
}

/** How to treat a key file that group or others can read. */
export type InsecureFileMode = 'tighten' | 'refuse';

/** True when `id` is a valid master key id. */
export function isMasterKeyId(id: string): boolean {
  return MASTER_KEY_ID.test(id);
}

/** The next free id of the form `mk-<n>`. */
export function nextMasterKeyId(existing: Iterable<string>): string {
  let highest = 0;
  for (const id of existing) {
    const match = /^mk-(\d+)$/.exec(id);
    if (match?.[1] !== undefined) highest = Math.max(highest, Number(match[1]));
  }
  return `mk-${highest + 1}`;
}

/**
 * Reads the master key file, or creates it (mode 0600, its folder 0700) with one fresh key when it
 * is absent and `createIfMissing`. A file readable by group or others is tightened to 0600 and
 * reported, or refused.
 * @throws Error when the file is missing (and may not be created), unsafe (and refused), not valid
 * JSON, malformed, or names a current key it does not hold. Messages never include key material.
 */
export async function loadMasterKeyFile(
  path: string,
  options: { createIfMissing: boolean; insecureFileMode: InsecureFileMode },
): Promise<{ masterKeys: MasterKeys; status: MasterKeyFileStatus }> {
  const existing = await stat(path).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (existing === undefined) {
    if (!options.createIfMissing) throw new Error(`master key file ${path} does not exist`);
    const id = nextMasterKeyId([]);
    const masterKeys: MasterKeys = {
      current: id,
      keys: new Map([[id, randomBytes(MASTER_KEY_BYTES)]]),
    };
    await writeMasterKeyFile(path, masterKeys);
    return { masterKeys, status: { path, generated: true } };
  }

  const openBits = existing.mode & 0o077;
  if (openBits !== 0) {
    const mode = (existing.mode & 0o777).toString(8).padStart(4, '0');
    if (options.insecureFileMode === 'refuse') {
      throw new Error(`master key file ${path} is readable by group or others (mode ${mode})`);
    }
    await chmod(path, 0o600);
  }
  const masterKeys = parseMasterKeyFile(path, await readFile(path, 'utf8'));
  return {
    masterKeys,
    status: {
      path,
      generated: false,
      ...(openBits === 0 ? {} : { tightenedModeFrom: existing.mode & 0o777 }),
    },
  };
}

function parseMasterKeyFile(path: string, text: string): MasterKeys {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`master key file ${path} is not valid JSON`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new Error(`master key file ${path} is malformed at ${where}`);
  }
  const keys = new Map<string, Buffer>();
  for (const [id, base64] of Object.entries(parsed.data.keys)) {
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length !== MASTER_KEY_BYTES) {
      throw new Error(`master key file ${path}: key ${id} is not ${MASTER_KEY_BYTES} bytes`);
    }
    keys.set(id, bytes);
  }
  const current = parsed.data.current;
  if (!keys.has(current)) {
    throw new Error(`master key file ${path}: the current key ${current} is not in keys`);
  }
  return { current, keys };
}

/**
 * Writes the key file atomically: a private temp file (0600), fsynced, renamed over the target, and
 * the folder fsynced. The folder is created with mode 0700 when missing.
 */
export async function writeMasterKeyFile(path: string, masterKeys: MasterKeys): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const json = {
    current: masterKeys.current,
    keys: Object.fromEntries([...masterKeys.keys].map(([id, key]) => [id, key.toString('base64')])),
  };
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      // The umask may have cleared bits of 0600; set it exactly.
      await handle.chmod(0o600);
      await handle.writeFile(`${JSON.stringify(json, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
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
