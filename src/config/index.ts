/**
 * Configuration: defaults < config file < environment < flags, validated once into a frozen {@link Config}.
 * Data flow: argv, env, JSON file ⇒ loadConfig ⇒ Config ⇒ main.ts ⇒ a narrow slice per factory.
 * @packageDocumentation
 */
export {
  DURABILITY_MODES,
  LOG_LEVELS,
  parseListenAddress,
  type Config,
  type Durability,
  type Limits,
  type ListenAddress,
  type LogLevel,
  type RateLimits,
  type SigningSecret,
  type TlsConfig,
  type EncryptionConfig,
  KMS_PROVIDERS,
  type TailConfig,
  type WriterConfig,
} from './config-schema.js';
export {
  CONFIG_FILE_ENV,
  CONFIG_FILE_FLAG,
  CONFIG_SETTINGS,
  type ConfigSetting,
  type SettingKind,
} from './config-settings.js';
export {
  ConfigError,
  configUsage,
  loadConfig,
  type ConfigProblem,
  type LoadConfigOptions,
} from './load-config.js';
