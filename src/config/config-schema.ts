import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

/** How the writer makes a commit durable: `sync` fsyncs every group commit, `os` leaves it to the OS. */
export const DURABILITY_MODES = ['sync', 'os'] as const;

/** A durability mode; see {@link DURABILITY_MODES}. */
export type Durability = (typeof DURABILITY_MODES)[number];

/** pino log levels, most severe first; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A log level; see {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The address the gRPC server binds, parsed from `host:port` (`[v6]:port` for IPv6). */
export interface ListenAddress {
  /** Host name or IP address, without brackets for IPv6. Default `127.0.0.1`. */
  readonly host: string;
  /** TCP port, 0–65535; 0 lets the OS pick a free port. Default `50051`. */
  readonly port: number;
  /** `host:port` as grpc-js expects it, with brackets around an IPv6 host. */
  readonly address: string;
}

/** Request limits the server enforces; a request over any of them is `INVALID_ARGUMENT`. */
export interface Limits {
  /** Largest message body, in bytes of its encoded JSON. Default 65536 (64 KiB). */
  readonly maxBodyBytes: number;
  /** Most metadata entries on one thread or message. Default 32. */
  readonly maxMetadataEntries: number;
  /** Largest metadata entry, in UTF-8 bytes of key plus value. Default 1024. */
  readonly maxMetadataEntryBytes: number;
  /** Longest thread title, in characters. Default 512. */
  readonly maxTitleChars: number;
  /** Longest reaction, in UTF-8 bytes. Default 64. */
  readonly maxReactionBytes: number;
  /** Longest message role, in characters. Default 64. */
  readonly maxRoleChars: number;
  /** Most messages in one `AppendMessages` call. Default 1000. */
  readonly maxBatchMessages: number;
  /** Largest `AppendMessages` call, in bytes of its encoded bodies. Default 4194304 (4 MiB). */
  readonly maxBatchBytes: number;
  /** Largest `page_size` a list call accepts, in items. Default 1000. */
  readonly maxPageSize: number;
  /** Most user ids in one `CreateThread`, `AddMembers` or `RemoveMembers` call. Default 1000. */
  readonly maxMembersPerCall: number;
  /** Largest gRPC message the server accepts, in bytes. Default 8388608 (8 MiB). */
  readonly maxReceiveMessageBytes: number;
}

/** A secret that signs user tokens, named by a key id that tokens carry so secrets can rotate. */
export interface SigningSecret {
  /** Key id: 1–32 characters from `[A-Za-z0-9_-]`; public, it appears in every token. */
  readonly kid: string;
  /** The HMAC-SHA256 key, used as its UTF-8 bytes: 32–512 printable ASCII characters. */
  readonly secret: string;
}

/** Token buckets per API key and per user, and the cap on concurrent tails; refusals are `RATE_LIMITED`. */
export interface RateLimits {
  /** Calls per second refilled into each API key's bucket; 0 turns the per-key limit off. Default 50000. */
  readonly keyPerSecond: number;
  /** Calls one API key may make at once after being idle (bucket size). Default 100000. */
  readonly keyBurst: number;
  /** Calls per second refilled into each signed user's bucket (frontend keys); 0 turns it off. Default 100. */
  readonly userPerSecond: number;
  /** Calls one signed user may make at once after being idle (bucket size). Default 200. */
  readonly userBurst: number;
  /** Whether admin keys are rate limited too. Default `false`. */
  readonly applyToAdmin: boolean;
  /** Most tails (TailThread, TailUser) one signed user may hold open at once; 0 means no cap. Default 16. */
  readonly maxTailsPerUser: number;
}

/** TLS for the gRPC server; absent means plaintext. Paths are absolute and were readable at load time. */
export interface TlsConfig {
  /** PEM certificate chain the server presents. */
  readonly certFile: string;
  /** PEM private key of the certificate. */
  readonly keyFile: string;
  /** PEM CA bundle that client certificates must chain to (mutual TLS); absent: no client certificates. */
  readonly clientCaFile: string | undefined;
}

/** Settings of the group-commit writer. */
export interface WriterConfig {
  /** Most commands committed in one group commit (one batch, one fsync). Default 1024. */
  readonly maxGroupCommands: number;
}

/** Where thread data keys are wrapped. */
export const KMS_PROVIDERS = ['local', 'aws'] as const;

/** Envelope encryption settings. */
export interface EncryptionConfig {
  /** Seal message bodies and metadata at rest. Default on. */
  readonly enabled: boolean;
  /** Seal thread titles too. Default off. */
  readonly encryptTitles: boolean;
  /** `local` (a master key file, the default) or `aws` (AWS KMS). */
  readonly provider: (typeof KMS_PROVIDERS)[number];
  /** The local master key file; default `<dataDir>/master-keys.json`, generated with mode 0600. */
  readonly masterKeyFile: string | undefined;
  /** The AWS KMS key id or ARN (provider `aws`). */
  readonly awsKeyId: string | undefined;
  /** The AWS region (provider `aws`). */
  readonly awsRegion: string | undefined;
  /** An AWS KMS endpoint URL, for a KMS-compatible service; default the region's. */
  readonly awsEndpoint: string | undefined;
  /** Unwrapped data keys kept in memory. Default 10000. */
  readonly keyCacheSize: number;
  /** How long an unwrapped data key stays cached, in milliseconds. Default 3600000 (1 hour). */
  readonly keyCacheTtlMs: number;
}

/** Settings of the live tails. */
export interface TailConfig {
  /** Idle time after which a tail gets a heartbeat frame, in milliseconds. Default 15000. */
  readonly heartbeatMs: number;
  /** Undelivered events a tail may have waiting before it is dropped as too slow. Default 10000. */
  readonly maxBufferedEvents: number;
  /** Undelivered bytes a tail may have waiting before it is dropped as too slow. Default 16 MiB. */
  readonly maxBufferedBytes: number;
}

/** Telemetry: the Prometheus endpoint; traces and OTLP export follow the standard `OTEL_*` variables. */
export interface TelemetryConfig {
  /** Whether telemetry runs at all; off, it costs nothing. Default `true`. */
  readonly enabled: boolean;
  /** Where `/metrics` is served for Prometheus; `undefined` (the value `off`) serves nothing. Default `127.0.0.1:9464`. */
  readonly metricsListen: ListenAddress | undefined;
}

/**
 * Retention policies; each is off until set. Runs every `intervalSeconds` and on
 * `AdminService.RunRetention`, in batches of `batchSize` removals per write job.
 */
export interface RetentionConfig {
  /** Soft-deleted threads are purged this many seconds after their deletion. Default off. */
  readonly deletedThreadGraceSeconds: number | undefined;
  /** Messages older than this many seconds are removed (a thread may override it in metadata). Default off. */
  readonly messageTtlSeconds: number | undefined;
  /** Most versions kept per message; older ones are removed, the latest always kept. Default off. */
  readonly maxVersions: number | undefined;
  /** Seconds between scheduled runs; 0 runs only on demand. Default 3600. */
  readonly intervalSeconds: number;
  /** Most removals in one write job, so appends keep flowing during a large purge. Default 500. */
  readonly batchSize: number;
}

/** The validated, deeply frozen configuration of one server process; built by `loadConfig`. */
export interface Config {
  /** Folder holding the database and the generated key file, absolute. Default `./data` against the working directory. */
  readonly dataDir: string;
  /** Where the gRPC server listens. Default `127.0.0.1:50051`. */
  readonly listen: ListenAddress;
  /** Whether each group commit is fsynced (`sync`) or left to the OS (`os`). Default `sync`. */
  readonly durability: Durability;
  /** API keys with the `admin` role, each at least 16 characters. Default none. */
  readonly adminKeys: readonly string[];
  /** API keys with the `backend` role, each at least 16 characters. Default none. */
  readonly backendKeys: readonly string[];
  /** API keys with the `frontend` role (calls also need `x-user-token`), each at least 16 characters. Default none. */
  readonly frontendKeys: readonly string[];
  /**
   * User-token signing secrets; the first signs new tokens, every one verifies. Default none: the
   * server generates one into the data folder on first start.
   */
  readonly signingSecrets: readonly SigningSecret[];
  /** Longest `ttl_seconds` that `SignUser` accepts, in seconds. Default 2592000 (30 days). */
  readonly maxTokenTtlSeconds: number;
  /** Rate limits and the concurrent-tail cap. */
  readonly rateLimits: RateLimits;
  /** TLS certificate and key, and the client CA for mutual TLS. Default none: plaintext. */
  readonly tls: TlsConfig | undefined;
  /** Least severe level that is logged. Default `info`. */
  readonly logLevel: LogLevel;
  /** How long shutdown waits for in-flight calls before it cancels them, in milliseconds. Default 10000. */
  readonly shutdownGraceMs: number;
  /** Request limits. */
  readonly limits: Limits;
  /** Group-commit writer settings. */
  readonly writer: WriterConfig;
  /** Live tail settings. */
  readonly tails: TailConfig;
  /** Envelope encryption settings. */
  readonly encryption: EncryptionConfig;
  /** Metrics endpoint and tracing. */
  readonly telemetry: TelemetryConfig;
  /** Retention policies. */
  readonly retention: RetentionConfig;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_SECONDS = 24 * 3600;

/** An integer schema whose every failure says the one thing the operator needs: the allowed range. */
function integer(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z
    .number({ error })
    .refine((n) => Number.isSafeInteger(n) && n >= min && n <= max, { error });
}

const apiKey = z
  .string({ error: 'must be a string' })
  .min(16, { error: 'must be at least 16 characters' })
  .max(512, { error: 'must be at most 512 characters' })
  .regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII without spaces' });

const SIGNING_SECRET_PROBLEM =
  'must be "kid:secret": a key id of 1-32 characters from [A-Za-z0-9_-], a colon, and a secret of 32-512 printable ASCII characters without spaces';

/** `kid:secret` text (as in `PROGRESSDB_SIGNING_SECRETS`) into a {@link SigningSecret}; the message never repeats the text. */
const signingSecret = z
  .string({ error: SIGNING_SECRET_PROBLEM })
  .transform((text, ctx): SigningSecret => {
    const colon = text.indexOf(':');
    const kid = text.slice(0, colon);
    const secret = text.slice(colon + 1);
    if (colon < 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(kid) || !/^[\x21-\x7e]{32,512}$/.test(secret)) {
      ctx.addIssue({ code: 'custom', message: SIGNING_SECRET_PROBLEM });
      return z.NEVER;
    }
    return { kid, secret };
  });

const signingSecrets = z
  .array(signingSecret, { error: 'must be a list of "kid:secret" entries' })
  .superRefine(
    (secrets, ctx) => {
      const seen = new Set<string>();
      secrets.forEach((entry: SigningSecret | undefined, index) => {
        // Entries that failed to parse are reported already and carry no key id.
        if (typeof entry?.kid !== 'string') return;
        if (seen.has(entry.kid)) {
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `key id "${entry.kid}" is given twice`,
          });
        }
        seen.add(entry.kid);
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );

const optionalPath = z
  .string({ error: 'must be a path' })
  .min(1, { error: 'must not be empty' })
  .optional();

/** Why a TLS setting is missing given the others, or undefined when the combination is complete. */
function tlsGap(
  tls: Partial<Record<keyof TlsConfig, string>>,
): [keyof TlsConfig, string] | undefined {
  const { certFile, keyFile, clientCaFile } = tls;
  if (certFile !== undefined && keyFile === undefined) {
    return ['keyFile', 'must be set with tls.certFile'];
  }
  if (keyFile !== undefined && certFile === undefined) {
    return ['certFile', 'must be set with tls.keyFile'];
  }
  if (clientCaFile !== undefined && certFile === undefined) {
    return ['clientCaFile', 'needs tls.certFile and tls.keyFile: mutual TLS is TLS first'];
  }
  return undefined;
}

const tlsSchema = z
  .object({ certFile: optionalPath, keyFile: optionalPath, clientCaFile: optionalPath })
  .superRefine(
    (tls, ctx) => {
      const gap = tlsGap(tls);
      if (gap !== undefined) ctx.addIssue({ code: 'custom', path: [gap[0]], message: gap[1] });
    },
    // An empty path is reported already; a pairing problem on top would only repeat it.
    { when: (payload) => payload.issues.length === 0 },
  )
  .transform(({ certFile, keyFile, clientCaFile }): TlsConfig | undefined =>
    certFile === undefined || keyFile === undefined
      ? undefined
      : { certFile, keyFile, clientCaFile },
  );

const rateLimitsSchema = z.object({
  keyPerSecond: integer(0, 1_000_000),
  keyBurst: integer(1, 10_000_000),
  userPerSecond: integer(0, 1_000_000),
  userBurst: integer(1, 10_000_000),
  applyToAdmin: z.boolean({ error: 'must be on or off (true or false in the config file)' }),
  maxTailsPerUser: integer(0, 100_000),
});

/** The key lists that must not share a key, checked pairwise; the later list gets the issue. */
const KEY_LISTS = [
  ['adminKeys', 'an admin key'],
  ['backendKeys', 'a backend key'],
  ['frontendKeys', 'a frontend key'],
] as const;

const hostname =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses `host:port` or `[ipv6]:port`; returns a problem description instead when it is malformed. */
export function parseListenAddress(text: string): ListenAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  if (match === null) {
    return text.split(':').length > 2
      ? 'an IPv6 address needs brackets, e.g. "[::1]:50051"'
      : 'must be "host:port", e.g. "127.0.0.1:50051"';
  }
  const [, v6, other = '', portText = ''] = match;
  const port = Number(portText);
  if (port > 65535) return 'port must be an integer from 0 to 65535';
  if (v6 !== undefined) {
    if (!isIPv6(v6)) return `"${v6}" is not an IPv6 address`;
    return { host: v6, port, address: `[${v6}]:${port}` };
  }
  if (!isIPv4(other) && !hostname.test(other))
    return `"${other}" is not a host name or IPv4 address`;
  return { host: other, port, address: `${other}:${port}` };
}

const listenAddress = z
  .string({ error: 'must be "host:port", e.g. "127.0.0.1:50051"' })
  .transform((text, ctx) => {
    const parsed = parseListenAddress(text);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  });

const limitsSchema = z
  .object({
    maxBodyBytes: integer(1, 64 * MiB),
    maxMetadataEntries: integer(1, 1024),
    maxMetadataEntryBytes: integer(1, 64 * KiB),
    maxTitleChars: integer(1, 64 * KiB),
    maxReactionBytes: integer(1, 1024),
    maxRoleChars: integer(1, 1024),
    maxBatchMessages: integer(1, 100_000),
    maxBatchBytes: integer(1, 256 * MiB),
    maxPageSize: integer(1, 100_000),
    maxMembersPerCall: integer(1, 100_000),
    maxReceiveMessageBytes: integer(KiB, 1024 * MiB),
  })
  .refine((limits) => limits.maxBodyBytes <= limits.maxBatchBytes, {
    path: ['maxBodyBytes'],
    error: 'must not exceed limits.maxBatchBytes: a batch must fit at least one body',
  })
  .refine((limits) => limits.maxBatchBytes <= limits.maxReceiveMessageBytes, {
    path: ['maxBatchBytes'],
    error:
      'must not exceed limits.maxReceiveMessageBytes: a full batch must fit in one gRPC message',
  });

/**
 * Validates the merged raw settings (every default already filled in) into a {@link Config}, except that
 * `dataDir` is still relative; `loadConfig` resolves it.
 */
export const configSchema = z
  .object({
    dataDir: z.string({ error: 'must be a path' }).min(1, { error: 'must not be empty' }),
    listen: listenAddress,
    durability: z.enum(DURABILITY_MODES, { error: 'must be "sync" or "os"' }),
    adminKeys: z.array(apiKey, { error: 'must be a list of keys' }),
    backendKeys: z.array(apiKey, { error: 'must be a list of keys' }),
    frontendKeys: z.array(apiKey, { error: 'must be a list of keys' }),
    signingSecrets,
    maxTokenTtlSeconds: integer(1, 366 * 24 * 3600),
    rateLimits: rateLimitsSchema,
    tls: tlsSchema,
    logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
    shutdownGraceMs: integer(0, 10 * 60_000),
    limits: limitsSchema,
    writer: z.object({ maxGroupCommands: integer(1, 65_536) }),
    encryption: z
      .object({
        enabled: z.boolean({ error: 'must be on or off (true or false in the config file)' }),
        encryptTitles: z.boolean({ error: 'must be on or off (true or false in the config file)' }),
        provider: z.enum(KMS_PROVIDERS, { error: 'must be "local" or "aws"' }),
        masterKeyFile: optionalPath,
        awsKeyId: z.string().min(1).optional(),
        awsRegion: z.string().min(1).optional(),
        awsEndpoint: z.url({ error: 'must be a URL' }).optional(),
        keyCacheSize: integer(1, 10_000_000),
        keyCacheTtlMs: integer(1000, 7 * 24 * 3600_000),
      })
      .superRefine((encryption, ctx) => {
        if (encryption.provider !== 'aws' || !encryption.enabled) return;
        if (!encryption.awsKeyId) {
          ctx.addIssue({ code: 'custom', path: ['awsKeyId'], message: 'is required with kms aws' });
        }
        if (!encryption.awsRegion) {
          ctx.addIssue({
            code: 'custom',
            path: ['awsRegion'],
            message: 'is required with kms aws',
          });
        }
      })
      .transform((encryption): EncryptionConfig => ({
        enabled: encryption.enabled,
        encryptTitles: encryption.encryptTitles,
        provider: encryption.provider,
        masterKeyFile: encryption.masterKeyFile,
        awsKeyId: encryption.awsKeyId,
        awsRegion: encryption.awsRegion,
        awsEndpoint: encryption.awsEndpoint,
        keyCacheSize: encryption.keyCacheSize,
        keyCacheTtlMs: encryption.keyCacheTtlMs,
      })),
    tails: z.object({
      heartbeatMs: integer(10, 24 * 3600_000),
      maxBufferedEvents: integer(1, 10_000_000),
      maxBufferedBytes: integer(1024, 4096 * MiB),
    }),
    telemetry: z.object({
      enabled: z.boolean({ error: 'must be on or off (true or false in the config file)' }),
      metricsListen: z.union([z.literal('off').transform(() => undefined), listenAddress]),
    }),
    retention: z
      .object({
        deletedThreadGraceSeconds: integer(0, 100 * 366 * DAY_SECONDS).optional(),
        messageTtlSeconds: integer(1, 100 * 366 * DAY_SECONDS).optional(),
        maxVersions: integer(1, 1_000_000).optional(),
        intervalSeconds: integer(0, 366 * DAY_SECONDS),
        batchSize: integer(1, 100_000),
      })
      .transform((retention): RetentionConfig => ({
        deletedThreadGraceSeconds: retention.deletedThreadGraceSeconds,
        messageTtlSeconds: retention.messageTtlSeconds,
        maxVersions: retention.maxVersions,
        intervalSeconds: retention.intervalSeconds,
        batchSize: retention.batchSize,
      })),
  })
  .superRefine(
    (config, ctx) => {
      KEY_LISTS.forEach(([later, laterName], index) => {
        for (const [earlier, earlierName] of KEY_LISTS.slice(0, index)) {
          if (config[earlier].some((key) => config[later].includes(key))) {
            ctx.addIssue({
              code: 'custom',
              path: [later],
              message: `a key cannot be both ${earlierName} and ${laterName}`,
            });
          }
        }
      });
    },
    {
      // Checked whenever the key lists are valid, even if unrelated settings are not.
      when: (payload) =>
        payload.issues.every((issue) => !KEY_LISTS.some(([list]) => issue.path?.[0] === list)),
    },
  );
