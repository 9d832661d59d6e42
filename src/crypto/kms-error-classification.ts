/** What to do about an error from the KMS client. */
export type KmsFailureKind =
  /** Throttling, a 5xx, a timeout or a network error: retry with backoff, then `KMS_UNAVAILABLE`. */
  | 'transient'
  /** The key or the credentials are refused: a configuration problem, not retried. */
  | 'access'
  /** The ciphertext does not open (wrong context, tampered): not retried. */
  | 'decrypt'
  /** Anything else (a malformed request, a bug): rethrown plainly. */
  | 'other';

/** How the KMS client failed: what to do, and a name safe to log. */
export interface KmsFailure {
  readonly kind: KmsFailureKind;
  /** The error's AWS name or system code, e.g. `ThrottlingException`, `ECONNREFUSED`. */
  readonly name: string;
  /** The service's message, for access errors only (it names the principal and the key). */
  readonly message?: string;
}

const DECRYPT = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

const ACCESS = new Set([
  'AccessDeniedException',
  'NotFoundException',
  'DisabledException',
  'InvalidKeyUsageException',
  'KMSInvalidStateException',
  'InvalidArnException',
  'InvalidGrantTokenException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

const TRANSIENT = new Set([
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Sorts an error thrown by `@aws-sdk/client-kms` (service, credential or network error). */
export function classifyKmsError(err: unknown): KmsFailure {
  if (typeof err !== 'object' || err === null) return { kind: 'other', name: typeof err };
  const fields = err as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const name = typeof fields.name === 'string' ? fields.name : 'Error';
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  if (DECRYPT.has(name)) return { kind: 'decrypt', name };
  if (ACCESS.has(name)) {
    const message = typeof fields.message === 'string' ? fields.message.slice(0, 300) : undefined;
    return { kind: 'access', name, ...(message === undefined ? {} : { message }) };
  }
  if (TRANSIENT.has(name)) return { kind: 'transient', name };
  if (code !== undefined && NETWORK_CODES.has(code)) return { kind: 'transient', name: code };
  const status = fields.$metadata?.httpStatusCode;
  if (fields.$fault === 'server' || (typeof status === 'number' && status >= 500)) {
    return { kind: 'transient', name };
  }
  return { kind: 'other', name: code ?? name };
}
