/** Size of a data key in bytes: AES-256. */
export const DATA_KEY_BYTES = 32;

/**
 * An unwrapped data key as sealing uses it: an id written into every sealed record (so a record says
 * which key opens it; keep it short, it costs bytes per record) and the 256-bit key.
 */
export interface DataKey {
  readonly id: string;
  readonly bytes: Buffer;
}

/** What a data key is bound to: its wrapped form opens only under the same context. */
export interface KeyContext {
  /** The thread the data key belongs to (the string id, the same at every call). */
  readonly threadId: string;
}

/** A fresh data key, in the clear and wrapped by the provider's current key. */
export interface GeneratedDataKey {
  /** The 256-bit data key. The caller owns it and should zero it (`fill(0)`) when done. */
  readonly plaintext: Buffer;
  /** The data key wrapped by `keyId`; safe to store. */
  readonly wrapped: Buffer;
  /** The id of the key that wrapped it (a master key id, or the KMS key ARN). */
  readonly keyId: string;
}

/** A data key wrapped again, under another (or the current) key. */
export interface RewrappedDataKey {
  readonly wrapped: Buffer;
  readonly keyId: string;
}

/**
 * The seam between the log and whatever holds the master keys: it makes, unwraps and re-wraps
 * per-thread data keys, and never sees records. Implementations: `LocalKeyProvider` (master keys in
 * a file) and `AwsKmsKeyProvider`.
 *
 * Data flow: `log ⇄ DataKeyCache ⇄ KeyProvider ⇄ (master key file | AWS KMS)`.
 *
 * Every method may throw `KmsUnavailableError` (transient, after retries), `KeyAccessError`
 * (configuration: denied, unknown or disabled key) or, when unwrapping, `DecryptFailedError`.
 */
export interface KeyProvider {
  /** Which technology holds the master keys. */
  readonly kind: 'local' | 'aws';

  /** The key new data keys are wrapped under and `rewrap` targets by default, as configured. */
  currentKeyId(): string;

  /**
   * Makes a fresh random 256-bit data key and wraps it under the current key, bound to `context`.
   * @throws KmsUnavailableError, KeyAccessError
   */
  generateDataKey(context: KeyContext): Promise<GeneratedDataKey>;

  /**
   * Unwraps a data key; the caller owns the returned buffer.
   * @throws DecryptFailedError when `wrapped` does not open under `context` (wrong thread,
   * tampered, truncated); KmsUnavailableError; KeyAccessError.
   */
  decryptDataKey(wrapped: Buffer, context: KeyContext): Promise<Buffer>;

  /**
   * Wraps a data key again under `toKeyId` (default: the current key) without exposing it to the
   * caller; the data it protects is not touched. This is rotation.
   * @throws DecryptFailedError, KmsUnavailableError, KeyAccessError
   */
  rewrap(wrapped: Buffer, context: KeyContext, toKeyId?: string): Promise<RewrappedDataKey>;

  /** Releases connections; the provider is unusable afterwards. */
  close(): Promise<void>;
}
