import {
  DecryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { setTimeout as sleep } from 'node:timers/promises';
import { DecryptFailedError, KeyAccessError, KmsUnavailableError } from './crypto-errors.js';
import { classifyKmsError } from './kms-error-classification.js';
import { tracedKeyCall, type KeyOperation } from './key-provider-telemetry.js';
import {
  DATA_KEY_BYTES,
  type GeneratedDataKey,
  type KeyContext,
  type KeyProvider,
  type RewrappedDataKey,
} from './key-provider.js';

/** Options of `AwsKmsKeyProvider`. */
export interface AwsKmsKeyProviderOptions {
  /** The KMS key new data keys are wrapped under: a key id, key ARN, alias name or alias ARN. */
  readonly keyId: string;
  /** The AWS region, e.g. `eu-west-1`. */
  readonly region: string;
  /** Another endpoint than AWS's for the region (a VPC endpoint, or a test fixture). */
  readonly endpoint?: string;
  /** Attempts per operation, the first included, before `KmsUnavailableError`. Default: 4. */
  readonly maxAttempts?: number;
  /** Static credentials; without them the standard AWS credential chain is used. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** First backoff ceiling; each retry doubles it, with full jitter. Default: 100 ms. */
  readonly retryBaseDelayMs?: number;
  /** Largest backoff between two attempts. Default: 2000 ms. */
  readonly retryMaxDelayMs?: number;
  /** Time allowed to connect to KMS. Default: 2000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Time allowed for one request, once connected. Default: 5000 ms. */
  readonly requestTimeoutMs?: number;
}

/**
 * Data keys from AWS KMS (`GenerateDataKey` AES_256, `Decrypt`, `ReEncrypt`), always with the
 * encryption context `{ thread_id }`. The wrapped key is KMS's ciphertext blob as is, and `keyId` is
 * the ARN KMS reports, to store beside it.
 *
 * Throttling, 5xx, timeouts and network errors are retried here with exponential backoff and full
 * jitter (the SDK's own retries are off, so one policy applies), then `KmsUnavailableError`.
 */
export class AwsKmsKeyProvider implements KeyProvider {
  readonly kind = 'aws';
  readonly #keyId: string;
  readonly #client: KMSClient;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  constructor(options: AwsKmsKeyProviderOptions) {
    this.#keyId = options.keyId;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.#baseDelayMs = options.retryBaseDelayMs ?? 100;
    this.#maxDelayMs = options.retryMaxDelayMs ?? 2000;
    const config: KMSClientConfig = {
      region: options.region,
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 2000,
        requestTimeout: options.requestTimeoutMs ?? 5000,
        // Without it the SDK only logs a warning when the request timeout passes, and waits on.
        throwOnRequestTimeout: true,
      },
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    };
    this.#client = new KMSClient(config);
  }

  currentKeyId(): string {
    return this.#keyId;
  }

  async generateDataKey(context: KeyContext): Promise<GeneratedDataKey> {
    const out = await this.#send('GenerateDataKey', context, this.#keyId, () =>
      this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: this.#keyId,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContext(context),
        }),
      ),
    );
    const plaintext = takeDataKey(out.Plaintext, context);
    if (out.CiphertextBlob === undefined) {
      plaintext.fill(0);
      throw new Error('KMS GenerateDataKey returned no CiphertextBlob');
    }
    return {
      plaintext,
      wrapped: Buffer.from(out.CiphertextBlob),
      keyId: out.KeyId ?? this.#keyId,
    };
  }

  async decryptDataKey(wrapped: Buffer, context: KeyContext): Promise<Buffer> {
    const out = await this.#send('Decrypt', context, undefined, () =>
      this.#client.send(
        new DecryptCommand({
          CiphertextBlob: wrapped,
          EncryptionContext: encryptionContext(context),
        }),
      ),
    );
    return takeDataKey(out.Plaintext, context);
  }

  async rewrap(wrapped: Buffer, context: KeyContext, toKeyId?: string): Promise<RewrappedDataKey> {
    const destination = toKeyId ?? this.#keyId;
    const out = await this.#send('ReEncrypt', context, destination, () =>
      this.#client.send(
        new ReEncryptCommand({
          CiphertextBlob: wrapped,
          SourceEncryptionContext: encryptionContext(context),
          DestinationKeyId: destination,
          DestinationEncryptionContext: encryptionContext(context),
        }),
      ),
    );
    if (out.CiphertextBlob === undefined)
      throw new Error('KMS ReEncrypt returned no CiphertextBlob');
    return { wrapped: Buffer.from(out.CiphertextBlob), keyId: out.KeyId ?? destination };
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  /** Sends one KMS request (traced and counted once, retries included). */
  #send<T>(
    operation: KmsOperation,
    context: KeyContext,
    keyId: string | undefined,
    request: () => Promise<T>,
  ): Promise<T> {
    return tracedKeyCall('aws', KEY_OPERATIONS[operation], () =>
      this.#sendWithRetries(operation, context, keyId, request),
    );
  }

  /** Sends one KMS request, retrying transient failures, and turns failures into crypto errors. */
  async #sendWithRetries<T>(
    operation: KmsOperation,
    context: KeyContext,
    keyId: string | undefined,
    request: () => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        const failure = classifyKmsError(err);
        switch (failure.kind) {
          case 'decrypt':
            throw new DecryptFailedError(
              `KMS ${operation}: the data key of thread ${context.threadId} does not open (${failure.name})`,
            );
          case 'access':
            throw new KeyAccessError(
              `KMS refused ${operation}${keyId === undefined ? '' : ` with key ${keyId}`}: ` +
                `${failure.name}${failure.message === undefined ? '' : ` (${failure.message})`}; ` +
                'check the key id, the key policy and the credentials',
              keyId,
              failure.name,
            );
          case 'other':
            // eslint-disable-next-line preserve-caught-error -- the SDK error may hold request data: keep its name only
            throw new Error(`KMS ${operation} failed: ${failure.name}`);
          case 'transient':
            if (attempt >= this.#maxAttempts) {
              throw new KmsUnavailableError(
                `KMS ${operation} failed after ${attempt} attempts: ${failure.name}`,
                operation,
                attempt,
                failure.name,
              );
            }
            await sleep(this.#backoffMs(attempt));
        }
      }
    }
  }

  /** Full jitter: uniform in [0, min(max, base · 2^(attempt−1))]. */
  #backoffMs(attempt: number): number {
    return Math.random() * Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
  }
}

type KmsOperation = 'GenerateDataKey' | 'Decrypt' | 'ReEncrypt';

/** KMS operations by the names spans and metrics give them. */
const KEY_OPERATIONS: Record<KmsOperation, KeyOperation> = {
  GenerateDataKey: 'generate',
  Decrypt: 'decrypt',
  ReEncrypt: 'rewrap',
};

function encryptionContext(context: KeyContext): Record<string, string> {
  return { thread_id: context.threadId };
}

/** Copies the SDK's plaintext into a buffer of our own and zeroes the SDK's copy. */
function takeDataKey(plaintext: Uint8Array | undefined, context: KeyContext): Buffer {
  if (plaintext?.length !== DATA_KEY_BYTES) {
    plaintext?.fill(0);
    throw new DecryptFailedError(`KMS returned no 256-bit data key for thread ${context.threadId}`);
  }
  const key = Buffer.alloc(DATA_KEY_BYTES);
  key.set(plaintext);
  plaintext.fill(0);
  return key;
}
