/**
 * The stable reasons of the crypto errors, the same strings as the API catalogue's, so the server can
 * map them without this module knowing gRPC: `KMS_UNAVAILABLE` → UNAVAILABLE, `DECRYPT_FAILED` →
 * DATA_LOSS.
 */
export const CryptoReason = {
  kmsUnavailable: 'KMS_UNAVAILABLE',
  decryptFailed: 'DECRYPT_FAILED',
} as const;

/** One of the crypto reasons. */
export type CryptoReasonCode = (typeof CryptoReason)[keyof typeof CryptoReason];

/**
 * Base of the crypto errors: a stable `reason` and a message for people. Messages name operations,
 * key ids and thread ids only, never key material, plaintext or wrapped keys, and no error carries
 * the provider's original error object (it could hold request data).
 */
export abstract class CryptoError extends Error {
  abstract readonly reason: CryptoReasonCode;
}

/**
 * The key service could not be reached or kept refusing for capacity (throttling, 5xx, network
 * errors) after the retries; the operation may succeed later.
 */
export class KmsUnavailableError extends CryptoError {
  override readonly name = 'KmsUnavailableError';
  readonly reason = CryptoReason.kmsUnavailable;

  constructor(
    message: string,
    /** The provider operation, e.g. `GenerateDataKey`. */
    readonly operation: string,
    /** How many attempts were made. */
    readonly attempts: number,
    /** The last failure's name or code (e.g. `ThrottlingException`, `ECONNREFUSED`), no more. */
    readonly lastFailure: string,
  ) {
    super(message);
  }
}

/**
 * The key service refused the key itself: access denied, unknown, disabled or unusable key, bad
 * credentials, or a master key missing from the key file. A configuration problem for the operator,
 * not a transient one; it still surfaces to clients as `KMS_UNAVAILABLE` (the keys cannot be reached).
 */
export class KeyAccessError extends CryptoError {
  override readonly name = 'KeyAccessError';
  readonly reason = CryptoReason.kmsUnavailable;

  constructor(
    message: string,
    /** The key id involved, when known (an id, never key material). */
    readonly keyId: string | undefined,
    /** The provider's error name, e.g. `AccessDeniedException`, when there is one. */
    readonly providerError: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Sealed data or a wrapped key did not open: wrong key or context, tampered, truncated, moved to
 * another message, or an unknown format. Never retried: the bytes are wrong, not the service.
 */
export class DecryptFailedError extends CryptoError {
  override readonly name = 'DecryptFailedError';
  readonly reason = CryptoReason.decryptFailed;
}
