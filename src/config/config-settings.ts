import { LOG_LEVELS } from './config-schema.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_SECONDS = 24 * 3600;

/**
 * How a setting's text from the environment or a flag becomes its raw value: `list` splits on commas,
 * `switch` reads on/off, true/false, yes/no or 1/0 (JSON booleans in the config file).
 */
export type SettingKind = 'text' | 'integer' | 'list' | 'switch';

/** One configurable setting: where it lives in `Config` and the config file, and its other sources. */
export interface ConfigSetting {
  /** Dotted path in `Config` and in the config file, e.g. `limits.maxBodyBytes`. */
  readonly path: string;
  /** Environment variable. */
  readonly env: string;
  /** Command-line flag (commander syntax); absent for keys, which would show in `ps` output. */
  readonly flag?: string;
  /** How text from the environment or a flag is read. */
  readonly kind: SettingKind;
  /** Raw default, in the form the config file uses; absent when the setting is unset by default. */
  readonly default?: string | number | boolean | readonly string[];
  /** Never echo the value in error messages. */
  readonly secret?: boolean;
  /** One line for `--help` and the README configuration table. */
  readonly description: string;
}

/** Command-line flag naming the JSON config file. */
export const CONFIG_FILE_FLAG = '--config <path>';

/** Environment variable naming the JSON config file. */
export const CONFIG_FILE_ENV = 'PROGRESSDB_CONFIG';

/** Every setting with its sources and default; the one table the loader, `--help` and the docs read. */
export const CONFIG_SETTINGS: readonly ConfigSetting[] = [
  {
    path: 'dataDir',
    env: 'PROGRESSDB_DATA_DIR',
    flag: '--data-dir <path>',
    kind: 'text',
    default: './data',
    description: 'data folder, relative to the working directory',
  },
  {
    path: 'listen',
    env: 'PROGRESSDB_LISTEN',
    flag: '--listen <host:port>',
    kind: 'text',
    default: '127.0.0.1:50051',
    description: 'gRPC listen address; port 0 picks a free port; IPv6 as [::1]:50051',
  },
  {
    path: 'durability',
    env: 'PROGRESSDB_DURABILITY',
    flag: '--durability <mode>',
    kind: 'text',
    default: 'sync',
    description: 'sync: fsync every group commit; os: leave flushing to the OS',
  },
  {
    path: 'adminKeys',
    env: 'PROGRESSDB_ADMIN_KEYS',
    kind: 'list',
    default: [],
    secret: true,
    description: 'comma-separated admin API keys (>= 16 characters each)',
  },
  {
    path: 'backendKeys',
    env: 'PROGRESSDB_BACKEND_KEYS',
    kind: 'list',
    default: [],
    secret: true,
    description: 'comma-separated backend API keys (>= 16 characters each)',
  },
  {
    path: 'frontendKeys',
    env: 'PROGRESSDB_FRONTEND_KEYS',
    kind: 'list',
    default: [],
    secret: true,
    description:
      'comma-separated frontend API keys (>= 16 characters each); calls need x-user-token',
  },
  {
    path: 'signingSecrets',
    env: 'PROGRESSDB_SIGNING_SECRETS',
    kind: 'list',
    default: [],
    secret: true,
    description:
      'comma-separated kid:secret user-token secrets (>= 32 characters); the first signs, all verify; none: generated in the data folder',
  },
  {
    path: 'maxTokenTtlSeconds',
    env: 'PROGRESSDB_MAX_TOKEN_TTL_SECONDS',
    flag: '--max-token-ttl-seconds <s>',
    kind: 'integer',
    default: 30 * DAY_SECONDS,
    description: 'longest user-token lifetime SignUser grants, seconds',
  },
  {
    path: 'rateLimits.keyPerSecond',
    env: 'PROGRESSDB_RATE_LIMIT_KEY_PER_SECOND',
    flag: '--rate-limit-key-per-second <n>',
    kind: 'integer',
    default: 50_000,
    description: 'calls per second per API key (a guard against runaway clients); 0 turns it off',
  },
  {
    path: 'rateLimits.keyBurst',
    env: 'PROGRESSDB_RATE_LIMIT_KEY_BURST',
    flag: '--rate-limit-key-burst <n>',
    kind: 'integer',
    default: 100_000,
    description: 'calls per API key allowed at once after idling (bucket size)',
  },
  {
    path: 'rateLimits.userPerSecond',
    env: 'PROGRESSDB_RATE_LIMIT_USER_PER_SECOND',
    flag: '--rate-limit-user-per-second <n>',
    kind: 'integer',
    default: 100,
    description: 'calls per second per signed user of frontend keys; 0 turns it off',
  },
  {
    path: 'rateLimits.userBurst',
    env: 'PROGRESSDB_RATE_LIMIT_USER_BURST',
    flag: '--rate-limit-user-burst <n>',
    kind: 'integer',
    default: 200,
    description: 'calls per signed user allowed at once after idling (bucket size)',
  },
  {
    path: 'rateLimits.applyToAdmin',
    env: 'PROGRESSDB_RATE_LIMIT_ADMIN',
    flag: '--rate-limit-admin <on|off>',
    kind: 'switch',
    default: false,
    description: 'rate limit admin keys too (on/off)',
  },
  {
    path: 'rateLimits.maxTailsPerUser',
    env: 'PROGRESSDB_MAX_TAILS_PER_USER',
    flag: '--max-tails-per-user <n>',
    kind: 'integer',
    default: 16,
    description: 'most tails one signed user may hold open at once; 0 means no cap',
  },
  {
    path: 'tls.certFile',
    env: 'PROGRESSDB_TLS_CERT_FILE',
    flag: '--tls-cert-file <path>',
    kind: 'text',
    description: 'PEM server certificate chain; with the key file it turns TLS on',
  },
  {
    path: 'tls.keyFile',
    env: 'PROGRESSDB_TLS_KEY_FILE',
    flag: '--tls-key-file <path>',
    kind: 'text',
    description: 'PEM private key of the server certificate',
  },
  {
    path: 'tls.clientCaFile',
    env: 'PROGRESSDB_TLS_CLIENT_CA_FILE',
    flag: '--tls-client-ca-file <path>',
    kind: 'text',
    description:
      'PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)',
  },
  {
    path: 'logLevel',
    env: 'PROGRESSDB_LOG_LEVEL',
    flag: '--log-level <level>',
    kind: 'text',
    default: 'info',
    description: LOG_LEVELS.join(', '),
  },
  {
    path: 'shutdownGraceMs',
    env: 'PROGRESSDB_SHUTDOWN_GRACE_MS',
    flag: '--shutdown-grace-ms <ms>',
    kind: 'integer',
    default: 10_000,
    description: 'wait for in-flight calls on shutdown, ms',
  },
  {
    path: 'limits.maxBodyBytes',
    env: 'PROGRESSDB_MAX_BODY_BYTES',
    flag: '--max-body-bytes <bytes>',
    kind: 'integer',
    default: 64 * KiB,
    description: 'largest message body, bytes of encoded JSON',
  },
  {
    path: 'limits.maxMetadataEntries',
    env: 'PROGRESSDB_MAX_METADATA_ENTRIES',
    flag: '--max-metadata-entries <n>',
    kind: 'integer',
    default: 32,
    description: 'most metadata entries per thread or message',
  },
  {
    path: 'limits.maxMetadataEntryBytes',
    env: 'PROGRESSDB_MAX_METADATA_ENTRY_BYTES',
    flag: '--max-metadata-entry-bytes <bytes>',
    kind: 'integer',
    default: KiB,
    description: 'largest metadata entry, UTF-8 bytes of key + value',
  },
  {
    path: 'limits.maxTitleChars',
    env: 'PROGRESSDB_MAX_TITLE_CHARS',
    flag: '--max-title-chars <n>',
    kind: 'integer',
    default: 512,
    description: 'longest thread title, characters',
  },
  {
    path: 'limits.maxReactionBytes',
    env: 'PROGRESSDB_MAX_REACTION_BYTES',
    flag: '--max-reaction-bytes <bytes>',
    kind: 'integer',
    default: 64,
    description: 'longest reaction, UTF-8 bytes',
  },
  {
    path: 'limits.maxRoleChars',
    env: 'PROGRESSDB_MAX_ROLE_CHARS',
    flag: '--max-role-chars <n>',
    kind: 'integer',
    default: 64,
    description: 'longest message role, characters',
  },
  {
    path: 'limits.maxBatchMessages',
    env: 'PROGRESSDB_MAX_BATCH_MESSAGES',
    flag: '--max-batch-messages <n>',
    kind: 'integer',
    default: 1000,
    description: 'most messages per AppendMessages call',
  },
  {
    path: 'limits.maxBatchBytes',
    env: 'PROGRESSDB_MAX_BATCH_BYTES',
    flag: '--max-batch-bytes <bytes>',
    kind: 'integer',
    default: 4 * MiB,
    description: 'largest AppendMessages call, bytes of encoded bodies',
  },
  {
    path: 'limits.maxPageSize',
    env: 'PROGRESSDB_MAX_PAGE_SIZE',
    flag: '--max-page-size <n>',
    kind: 'integer',
    default: 1000,
    description: 'largest page_size of list calls',
  },
  {
    path: 'limits.maxMembersPerCall',
    env: 'PROGRESSDB_MAX_MEMBERS_PER_CALL',
    flag: '--max-members-per-call <n>',
    kind: 'integer',
    default: 1000,
    description: 'most user ids per membership call',
  },
  {
    path: 'limits.maxReceiveMessageBytes',
    env: 'PROGRESSDB_MAX_RECEIVE_MESSAGE_BYTES',
    flag: '--max-receive-message-bytes <bytes>',
    kind: 'integer',
    default: 8 * MiB,
    description: 'largest gRPC message received, bytes',
  },
  {
    path: 'writer.maxGroupCommands',
    env: 'PROGRESSDB_WRITER_MAX_GROUP_COMMANDS',
    flag: '--writer-max-group-commands <n>',
    kind: 'integer',
    default: 1024,
    description: 'most commands per group commit',
  },
  {
    path: 'encryption.enabled',
    env: 'PROGRESSDB_ENCRYPTION',
    flag: '--encryption <on|off>',
    kind: 'switch',
    default: true,
    description: 'seal message bodies and metadata at rest with a data key per thread (on/off)',
  },
  {
    path: 'encryption.encryptTitles',
    env: 'PROGRESSDB_ENCRYPT_TITLES',
    flag: '--encrypt-titles <on|off>',
    kind: 'switch',
    default: false,
    description: 'seal thread titles too (on/off; needs encryption on)',
  },
  {
    path: 'encryption.provider',
    env: 'PROGRESSDB_KMS',
    flag: '--kms <local|aws>',
    kind: 'text',
    default: 'local',
    description: 'who wraps data keys: local (a master key file) or aws (AWS KMS)',
  },
  {
    path: 'encryption.masterKeyFile',
    env: 'PROGRESSDB_MASTER_KEY_FILE',
    flag: '--master-key-file <path>',
    kind: 'text',
    description: 'local master keys; default <data dir>/master-keys.json, generated with mode 0600',
  },
  {
    path: 'encryption.awsKeyId',
    env: 'PROGRESSDB_AWS_KMS_KEY_ID',
    flag: '--aws-kms-key-id <id>',
    kind: 'text',
    description: 'AWS KMS key id, ARN or alias (kms aws); credentials from the AWS chain',
  },
  {
    path: 'encryption.awsRegion',
    env: 'PROGRESSDB_AWS_REGION',
    flag: '--aws-region <region>',
    kind: 'text',
    description: 'AWS region (kms aws)',
  },
  {
    path: 'encryption.awsEndpoint',
    env: 'PROGRESSDB_AWS_KMS_ENDPOINT',
    flag: '--aws-kms-endpoint <url>',
    kind: 'text',
    description: 'AWS KMS endpoint URL, for a KMS-compatible service (kms aws)',
  },
  {
    path: 'encryption.keyCacheSize',
    env: 'PROGRESSDB_KEY_CACHE_SIZE',
    flag: '--key-cache-size <n>',
    kind: 'integer',
    default: 10_000,
    description: 'unwrapped data keys kept in memory',
  },
  {
    path: 'encryption.keyCacheTtlMs',
    env: 'PROGRESSDB_KEY_CACHE_TTL_MS',
    flag: '--key-cache-ttl-ms <ms>',
    kind: 'integer',
    default: 3_600_000,
    description: 'how long an unwrapped data key stays cached, ms',
  },
  {
    path: 'tails.heartbeatMs',
    env: 'PROGRESSDB_TAIL_HEARTBEAT_MS',
    flag: '--tail-heartbeat-ms <ms>',
    kind: 'integer',
    default: 15_000,
    description: 'idle time before a tail gets a heartbeat, ms',
  },
  {
    path: 'tails.maxBufferedEvents',
    env: 'PROGRESSDB_TAIL_MAX_BUFFERED_EVENTS',
    flag: '--tail-max-buffered-events <n>',
    kind: 'integer',
    default: 10_000,
    description: 'undelivered events a tail may have waiting before it is dropped as too slow',
  },
  {
    path: 'tails.maxBufferedBytes',
    env: 'PROGRESSDB_TAIL_MAX_BUFFERED_BYTES',
    flag: '--tail-max-buffered-bytes <n>',
    kind: 'integer',
    default: 16 * MiB,
    description: 'undelivered bytes a tail may have waiting before it is dropped as too slow',
  },
  {
    path: 'telemetry.enabled',
    env: 'PROGRESSDB_TELEMETRY',
    flag: '--telemetry <on|off>',
    kind: 'switch',
    default: true,
    description: 'OpenTelemetry metrics and traces; off costs nothing',
  },
  {
    path: 'telemetry.metricsListen',
    env: 'PROGRESSDB_METRICS_LISTEN',
    flag: '--metrics-listen <host:port|off>',
    kind: 'text',
    default: '127.0.0.1:9464',
    description: 'where Prometheus scrapes /metrics; off serves nothing',
  },
  {
    path: 'retention.deletedThreadGraceSeconds',
    env: 'PROGRESSDB_RETENTION_DELETED_THREAD_GRACE_SECONDS',
    flag: '--retention-deleted-thread-grace-seconds <s>',
    kind: 'integer',
    description: 'purge soft-deleted threads this long after deletion; unset keeps them',
  },
  {
    path: 'retention.messageTtlSeconds',
    env: 'PROGRESSDB_RETENTION_MESSAGE_TTL_SECONDS',
    flag: '--retention-message-ttl-seconds <s>',
    kind: 'integer',
    description: 'remove messages older than this; unset keeps them',
  },
  {
    path: 'retention.maxVersions',
    env: 'PROGRESSDB_RETENTION_MAX_VERSIONS',
    flag: '--retention-max-versions <n>',
    kind: 'integer',
    description: 'most versions kept per message, the latest always; unset keeps all',
  },
  {
    path: 'retention.intervalSeconds',
    env: 'PROGRESSDB_RETENTION_INTERVAL_SECONDS',
    flag: '--retention-interval-seconds <s>',
    kind: 'integer',
    default: 3600,
    description: 'seconds between scheduled retention runs; 0 runs only on demand',
  },
  {
    path: 'retention.batchSize',
    env: 'PROGRESSDB_RETENTION_BATCH_SIZE',
    flag: '--retention-batch-size <n>',
    kind: 'integer',
    default: 500,
    description: 'most removals in one write job, so appends keep flowing',
  },
];
