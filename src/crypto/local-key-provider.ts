import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DecryptFailedError, KeyAccessError } from './crypto-errors.js';
import {
  DATA_KEY_BYTES,
  type GeneratedDataKey,
  type KeyContext,
  type KeyProvider,
  type RewrappedDataKey,
} from './key-provider.js';
import { tracedKeyCall } from './key-provider-telemetry.js';
import {
  MASTER_KEY_BYTES,
  isMasterKeyId,
  loadMasterKeyFile,
  nextMasterKeyId,
  writeMasterKeyFile,
  type InsecureFileMode,
  type MasterKeyFileStatus,
} from './master-key-file.js';

/** First byte of a data key wrapped by a local master key (format 1). */
const WRAP_FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Options of `LocalKeyProvider.open`. */
export interface LocalKeyProviderOptions {
  /** The master key file, e.g. `<data dir>/master-keys.json`. */
  readonly file: string;
  /** Create the file with one fresh key when it is absent. Default: true. */
  readonly createIfMissing?: boolean;
  /** A file readable by group or others: `tighten` to 0600 and report it, or `refuse`. Default: `tighten`. */
  readonly insecureFileMode?: InsecureFileMode;
}

/**
 * The embedded key provider: 256-bit master keys by id in a JSON file
 * (`{ "current": "mk-1", "keys": { "mk-1": "<base64>" } }`), wrapping data keys with AES-256-GCM.
 *
 * Wrapped format 1: `0x01 ‖ id length (u8) ‖ master key id ‖ nonce (12) ‖ data key (32) ‖ tag (16)`,
 * with the header and the thread id as associated data. The id in the header lets any key of the file
 * unwrap, so rotation is: `addMasterKey()`, then `rewrap` every data key, then `removeMasterKey(old)`.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly kind = 'local';
  readonly #file: string;
  readonly #keys: Map<string, Buffer>;
  #current: string;
  #writes: Promise<unknown> = Promise.resolve();

  /** What opening the key file did (created, permissions tightened), for the startup log. */
  readonly status: MasterKeyFileStatus;

  private constructor(status: MasterKeyFileStatus, current: string, keys: Map<string, Buffer>) {
    this.status = status;
    this.#file = status.path;
    this.#current = current;
    this.#keys = keys;
  }

  /**
   * Opens (or first creates, mode 0600 in a 0700 folder) the master key file.
   * @throws Error when the file is missing and may not be created, unsafe and refused, or malformed.
   */
  static async open(options: LocalKeyProviderOptions): Promise<LocalKeyProvider> {
    const { masterKeys, status } = await loadMasterKeyFile(options.file, {
      createIfMissing: options.createIfMissing ?? true,
      insecureFileMode: options.insecureFileMode ?? 'tighten',
    });
    return new LocalKeyProvider(status, masterKeys.current, new Map(masterKeys.keys));
  }

  currentKeyId(): string {
    return this.#current;
  }

  /** The ids of every master key in the file. */
  masterKeyIds(): string[] {
    return [...this.#keys.keys()];
  }

  generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
    return tracedKeyCall('local', 'generate', () =>
      settle(() => {
        const keyId = this.#current;
        const plaintext = randomBytes(DATA_KEY_BYTES);
        return { plaintext, wrapped: this.#wrap(keyId, plaintext, context), keyId };
      }),
    );
  }

  decryptDataKey(wrapped: Buffer, context: KeyContext): Promise<Buffer> {
    return tracedKeyCall('local', 'decrypt', () => settle(() => this.#unwrap(wrapped, context)));
  }

  rewrap(wrapped: Buffer, context: KeyContext, toKeyId?: string): Promise<RewrappedDataKey> {
    return tracedKeyCall('local', 'rewrap', () => this.#rewrap(wrapped, context, toKeyId));
  }

  #rewrap(wrapped: Buffer, context: KeyContext, toKeyId?: string): Promise<RewrappedDataKey> {
    return settle(() => {
      const keyId = toKeyId ?? this.#current;
      this.#masterKey(keyId);
      const dataKey = this.#unwrap(wrapped, context);
      try {
        return { wrapped: this.#wrap(keyId, dataKey, context), keyId };
      } finally {
        dataKey.fill(0);
      }
    });
  }

  /**
   * Adds a fresh master key to the file (atomically) and, by default, makes it current: the first
   * step of a rotation. Old keys stay, so existing data keys still unwrap.
   * @returns the new key's id.
   */
  addMasterKey(options: { makeCurrent?: boolean } = {}): Promise<string> {
    return this.#update(() => {
      const id = nextMasterKeyId(this.#keys.keys());
      return {
        keys: new Map([...this.#keys, [id, randomBytes(MASTER_KEY_BYTES)]]),
        current: options.makeCurrent === false ? this.#current : id,
        result: id,
      };
    });
  }

  /**
   * Removes a master key from the file, once no data key is wrapped under it any more (after a
   * rewrap): data keys still wrapped under it can never be unwrapped again.
   * @throws Error when `id` is the current key or not in the file.
   */
  removeMasterKey(id: string): Promise<void> {
    return this.#update(() => {
      if (id === this.#current) throw new Error(`master key ${id} is current; rotate first`);
      if (!this.#keys.has(id)) throw new Error(`master key ${id} is not in the key file`);
      const keys = new Map(this.#keys);
      keys.delete(id);
      return { keys, current: this.#current, result: undefined };
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Shows ids only, never key material. */
  [inspect.custom](): string {
    return `LocalKeyProvider { file: ${this.#file}, current: ${this.#current}, keys: ${inspect(this.masterKeyIds())} }`;
  }

  /** Serialises as ids only. */
  toJSON(): { kind: 'local'; file: string; current: string; keys: string[] } {
    return { kind: this.kind, file: this.#file, current: this.#current, keys: this.masterKeyIds() };
  }

  /** Applies one change to the key file, one at a time; memory changes only once the file did. */
  #update<T>(change: () => { keys: Map<string, Buffer>; current: string; result: T }): Promise<T> {
    const run = this.#writes.then(async () => {
      const next = change();
      await writeMasterKeyFile(this.#file, { current: next.current, keys: next.keys });
      for (const [id, key] of this.#keys) if (!next.keys.has(id)) key.fill(0);
      this.#keys.clear();
      for (const [id, key] of next.keys) this.#keys.set(id, key);
      this.#current = next.current;
      return next.result;
    });
    this.#writes = run.catch(() => undefined);
    return run;
  }

  #masterKey(id: string): Buffer {
    const key = this.#keys.get(id);
    if (key === undefined) {
      throw new KeyAccessError(
        `master key ${id} is not in the key file ${this.#file}`,
        id,
        undefined,
      );
    }
    return key;
  }

  #wrap(masterKeyId: string, dataKey: Buffer, context: KeyContext): Buffer {
    if (!isMasterKeyId(masterKeyId)) throw new Error(`invalid master key id ${masterKeyId}`);
    const masterKey = this.#masterKey(masterKeyId);
    const id = Buffer.from(masterKeyId, 'ascii');
    const header = Buffer.concat([Buffer.of(WRAP_FORMAT, id.length), id]);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', masterKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(header, context));
    const sealed = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([header, nonce, sealed, cipher.getAuthTag()]);
  }

  #unwrap(wrapped: Buffer, context: KeyContext): Buffer {
    const failed = (why: string) =>
      new DecryptFailedError(`the data key of thread ${context.threadId} ${why}`);
    if (wrapped.length < 2 || wrapped[0] !== WRAP_FORMAT) throw failed('has an unknown format');
    const idEnd = 2 + (wrapped[1] ?? 0);
    if (wrapped.length !== idEnd + NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES) {
      throw failed('has the wrong length');
    }
    const masterKeyId = wrapped.subarray(2, idEnd).toString('ascii');
    if (!isMasterKeyId(masterKeyId)) throw failed('names an invalid master key id');
    const masterKey = this.#masterKey(masterKeyId);
    const nonce = wrapped.subarray(idEnd, idEnd + NONCE_BYTES);
    const body = wrapped.subarray(idEnd + NONCE_BYTES, wrapped.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', masterKey, nonce, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(associatedData(wrapped.subarray(0, idEnd), context));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
    const dataKey = decipher.update(body);
    try {
      decipher.final();
    } catch {
      dataKey.fill(0);
      throw failed(`does not open under master key ${masterKeyId}`);
    }
    return dataKey;
  }
}

/** Runs synchronous work behind a promise, so a throw becomes a rejection as callers expect. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

/** The header (self-delimiting) followed by the thread id: unambiguous. */
function associatedData(header: Buffer, context: KeyContext): Buffer {
  return Buffer.concat([header, Buffer.from(context.threadId, 'utf8')]);
}
