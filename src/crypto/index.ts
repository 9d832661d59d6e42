export {
  CryptoError,
  CryptoReason,
  DecryptFailedError,
  KeyAccessError,
  KmsUnavailableError,
  type CryptoReasonCode,
} from './crypto-errors.js';
export {
  DATA_KEY_BYTES,
  type DataKey,
  type GeneratedDataKey,
  type KeyContext,
  type KeyProvider,
  type RewrappedDataKey,
} from './key-provider.js';
export { LocalKeyProvider, type LocalKeyProviderOptions } from './local-key-provider.js';
export type { InsecureFileMode, MasterKeyFileStatus } from './master-key-file.js';
// AwsKmsKeyProvider is not re-exported: importing it loads the AWS SDK (~20 MB resident), so the
// composition root imports './aws-kms-key-provider.js' only when the aws provider is configured.
export { DataKeyCache, type DataKeyCacheOptions, type DataKeyLease } from './data-key-cache.js';
export {
  isSealed,
  open,
  seal,
  sealedKeyId,
  type DataKeyLookup,
  type SealingAad,
} from './record-sealing.js';
