import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The KMS operations the fixture speaks. */
export type KmsOperation = 'GenerateDataKey' | 'Decrypt' | 'Encrypt' | 'ReEncrypt';

const OPERATIONS: readonly KmsOperation[] = ['GenerateDataKey', 'Decrypt', 'Encrypt', 'ReEncrypt'];
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const BLOB_FORMAT = 0x01;

/** Static fake credentials the fixture accepts; any other access key is refused. */
export const FIXTURE_CREDENTIALS = {
  accessKeyId: 'AKIAFIXTUREFIXTURE01',
  secretAccessKey: 'fixture-secret-access-key-not-a-real-one',
} as const;

/** What the fixture saw of one request. */
export interface KmsRequestRecord {
  readonly operation: string;
  /** The request carried a valid SigV4 signature by the fixture's credentials, for kms. */
  readonly signed: boolean;
  /** The JSON body, blobs still base64. */
  readonly body: Record<string, unknown>;
}

/**
 * A local stand-in for AWS KMS: an HTTP server on 127.0.0.1 speaking the KMS JSON 1.1 protocol
 * (`X-Amz-Target: TrentService.<Operation>`) for the real `@aws-sdk/client-kms`, with its own key
 * material per key, the encryption context enforced, and hooks to inject failures.
 */
export interface KmsFixture {
  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: typeof FIXTURE_CREDENTIALS;
  /** Every request received, in order (failed ones too). */
  readonly requests: readonly KmsRequestRecord[];
  /** Creates a symmetric key (optionally with an alias, `alias/<name>`); returns its ARN. */
  createKey(options?: { alias?: string }): string;
  /** How many requests of `operation` (or of all operations) were received. */
  calls(operation?: KmsOperation): number;
  /** The next `count` requests fail with HTTP 400 `ThrottlingException`. */
  throttleNext(count: number): void;
  /** The next `count` requests fail with HTTP `status` (default 500) `KMSInternalException`. */
  failNext(count: number, status?: number): void;
  /** Requests using `keyId` (an ARN, id or alias; all keys when omitted) get `AccessDeniedException`. */
  denyAccess(keyId?: string): void;
  /** Requests using `keyId` get `DisabledException`. */
  disableKey(keyId: string): void;
  /** Forgets injected failures, denials and the request log; keeps the keys. */
  reset(): void;
  /** Closes the server and every open connection. */
  close(): Promise<void>;
}

interface FixtureKey {
  readonly id: string;
  readonly arn: string;
  readonly material: Buffer;
  disabled: boolean;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Starts a KMS fixture on 127.0.0.1:0. */
export async function startKmsFixture(): Promise<KmsFixture> {
  const keys = new Map<string, FixtureKey>();
  const aliases = new Map<string, string>();
  const requests: KmsRequestRecord[] = [];
  let throttle = 0;
  let failures = 0;
  let failureStatus = 500;
  let denyAll = false;
  const denied = new Set<string>();

  const resolveKey = (keyRef: unknown): FixtureKey => {
    if (typeof keyRef !== 'string' || keyRef === '') {
      throw new KmsError('ValidationException', 'KeyId is required');
    }
    const id = keyRef.startsWith('alias/')
      ? aliases.get(keyRef)
      : keyRef.startsWith('arn:')
        ? /:key\/(.+)$/.exec(keyRef)?.[1]
        : keyRef;
    const key = id === undefined ? undefined : keys.get(id);
    if (key === undefined)
      throw new KmsError('NotFoundException', `Key '${keyRef}' does not exist`);
    return usable(key);
  };
  const usable = (key: FixtureKey): FixtureKey => {
    if (denyAll || denied.has(key.id)) {
      throw new KmsError(
        'AccessDeniedException',
        `User: arn:aws:iam::${ACCOUNT}:user/fixture is not authorized to use ${key.arn}`,
      );
    }
    if (key.disabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    return key;
  };

  const encrypt = (key: FixtureKey, plaintext: Buffer, context: unknown): Buffer => {
    const id = Buffer.from(key.id, 'ascii');
    const header = Buffer.concat([Buffer.of(BLOB_FORMAT, id.length), id]);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, nonce);
    cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
  };
  const decrypt = (blob: Buffer, context: unknown): { key: FixtureKey; plaintext: Buffer } => {
    const invalid = () => new KmsError('InvalidCiphertextException', '');
    if (blob.length < 2 || blob[0] !== BLOB_FORMAT) throw invalid();
    const idEnd = 2 + (blob[1] ?? 0);
    if (blob.length < idEnd + 12 + 16) throw invalid();
    const key = keys.get(blob.subarray(2, idEnd).toString('ascii'));
    if (key === undefined) throw invalid();
    usable(key);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      key.material,
      blob.subarray(idEnd, idEnd + 12),
    );
    decipher.setAAD(Buffer.concat([blob.subarray(0, idEnd), canonicalContext(context)]));
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    try {
      const body = blob.subarray(idEnd + 12, blob.length - 16);
      return { key, plaintext: Buffer.concat([decipher.update(body), decipher.final()]) };
    } catch {
      throw invalid();
    }
  };

  const handlers: Record<KmsOperation, (body: Record<string, unknown>) => object> = {
    GenerateDataKey(body) {
      const key = resolveKey(body.KeyId);
      const size =
        body.KeySpec === 'AES_256' ? 32 : body.KeySpec === 'AES_128' ? 16 : body.NumberOfBytes;
      if (typeof size !== 'number' || size < 1 || size > 1024) {
        throw new KmsError('ValidationException', 'KeySpec or NumberOfBytes is required');
      }
      const plaintext = randomBytes(size);
      return {
        KeyId: key.arn,
        Plaintext: plaintext.toString('base64'),
        CiphertextBlob: encrypt(key, plaintext, body.EncryptionContext).toString('base64'),
      };
    },
    Encrypt(body) {
      const key = resolveKey(body.KeyId);
      const blob = encrypt(key, blobField(body, 'Plaintext'), body.EncryptionContext);
      return {
        KeyId: key.arn,
        CiphertextBlob: blob.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    Decrypt(body) {
      const { key, plaintext } = decrypt(blobField(body, 'CiphertextBlob'), body.EncryptionContext);
      if (body.KeyId !== undefined && resolveKey(body.KeyId).id !== key.id) {
        throw new KmsError('IncorrectKeyException', 'The key ID in the request does not match');
      }
      return {
        KeyId: key.arn,
        Plaintext: plaintext.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    ReEncrypt(body) {
      const destination = resolveKey(body.DestinationKeyId);
      const source = decrypt(blobField(body, 'CiphertextBlob'), body.SourceEncryptionContext);
      const blob = encrypt(destination, source.plaintext, body.DestinationEncryptionContext);
      source.plaintext.fill(0);
      return {
        CiphertextBlob: blob.toString('base64'),
        SourceKeyId: source.key.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const text = raw.toString('utf8');
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith('TrentService.') ? target.slice(13) : '';
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text === '' ? '{}' : text);
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      body = {};
    }
    const signature = checkSignature(req, raw);
    const signed = signature === 'valid';
    requests.push({ operation, signed, body });
    try {
      if (failures > 0) {
        failures--;
        throw new KmsError('KMSInternalException', 'injected failure', failureStatus);
      }
      if (throttle > 0) {
        throttle--;
        throw new KmsError('ThrottlingException', 'Rate exceeded');
      }
      if (signature === 'missing') {
        throw new KmsError('IncompleteSignatureException', 'missing SigV4 signature');
      }
      if (signature === 'unknown-key') {
        throw new KmsError('UnrecognizedClientException', 'The security token is invalid.');
      }
      if (signature === 'invalid') {
        throw new KmsError('InvalidSignatureException', 'The signature does not match.');
      }
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
        throw new KmsError('SerializationException', 'expected application/x-amz-json-1.1');
      }
      if (!OPERATIONS.includes(operation as KmsOperation)) {
        throw new KmsError('UnknownOperationException', `unknown operation ${operation}`);
      }
      send(res, 200, handlers[operation as KmsOperation](body));
    } catch (err) {
      if (!(err instanceof KmsError)) throw err;
      send(res, err.status, { __type: err.type, message: err.message });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { __type: 'InternalFailure', message: 'fixture bug' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    credentials: FIXTURE_CREDENTIALS,
    requests,
    createKey(options = {}) {
      const id = randomUUID();
      const arn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
      keys.set(id, { id, arn, material: randomBytes(32), disabled: false });
      if (options.alias !== undefined) aliases.set(`alias/${options.alias}`, id);
      return arn;
    },
    calls(operation) {
      return requests.filter((r) => operation === undefined || r.operation === operation).length;
    },
    throttleNext(count) {
      throttle = count;
    },
    failNext(count, status = 500) {
      failures = count;
      failureStatus = status;
    },
    denyAccess(keyId) {
      if (keyId === undefined) denyAll = true;
      else denied.add(findKey(keys, aliases, keyId).id);
    },
    disableKey(keyId) {
      findKey(keys, aliases, keyId).disabled = true;
    },
    reset() {
      throttle = 0;
      failures = 0;
      denyAll = false;
      denied.clear();
      for (const key of keys.values()) key.disabled = false;
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function findKey(
  keys: Map<string, FixtureKey>,
  aliases: Map<string, string>,
  keyRef: string,
): FixtureKey {
  const id = aliases.get(keyRef) ?? /:key\/(.+)$/.exec(keyRef)?.[1] ?? keyRef;
  const key = keys.get(id);
  if (key === undefined) throw new Error(`fixture: no key ${keyRef}`);
  return key;
}

/** The encryption context as bytes that do not depend on the order of its entries. */
function canonicalContext(context: unknown): Buffer {
  const entries =
    typeof context === 'object' && context !== null ? Object.entries(context).sort() : [];
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function blobField(body: Record<string, unknown>, field: string): Buffer {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new KmsError('ValidationException', `${field} is required`);
  }
  return Buffer.from(value, 'base64');
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Checks the request's SigV4 signature the way AWS does: rebuilds the canonical request from the
 * signed headers and the body, and compares the HMAC chain's signature.
 */
function checkSignature(
  req: IncomingMessage,
  body: Buffer,
): 'valid' | 'missing' | 'unknown-key' | 'invalid' {
  const match = AUTHORIZATION.exec(req.headers.authorization ?? '');
  if (match === null) return 'missing';
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  if (accessKeyId !== FIXTURE_CREDENTIALS.accessKeyId) return 'unknown-key';
  const amzDate = req.headers['x-amz-date'];
  if (
    region !== REGION ||
    service !== 'kms' ||
    typeof amzDate !== 'string' ||
    !amzDate.startsWith(date ?? '-') ||
    signedHeaders === undefined ||
    !signedHeaders.split(';').includes('host')
  ) {
    return 'invalid';
  }
  const headerLines = signedHeaders.split(';').map((name) => {
    const value = req.headers[name];
    const text = Array.isArray(value) ? value.join(',') : (value ?? '');
    return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
  });
  const declaredHash = req.headers['x-amz-content-sha256'];
  const payloadHash = typeof declaredHash === 'string' ? declaredHash : sha256(body);
  const canonicalRequest = [
    req.method,
    req.url ?? '/',
    '',
    headerLines.join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${FIXTURE_CREDENTIALS.secretAccessKey}`, date ?? '');
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(signature ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'valid' : 'invalid';
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}
