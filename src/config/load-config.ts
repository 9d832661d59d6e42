import { accessSync, constants, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { configSchema, type Config, type TlsConfig } from './config-schema.js';
import {
  CONFIG_FILE_ENV,
  CONFIG_FILE_FLAG,
  CONFIG_SETTINGS,
  type ConfigSetting,
  type SettingKind,
} from './config-settings.js';

/** Where {@link loadConfig} reads its sources; each defaults to the running process. */
export interface LoadConfigOptions {
  /** Command-line arguments without `node` and the script. Default `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Environment to read `PROGRESSDB_*` variables from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory that relative paths (data dir, config file) resolve against. Default `process.cwd()`. */
  cwd?: string;
}

/** One thing wrong with the configuration, with where the offending value came from. */
export interface ConfigProblem {
  /** Dotted setting path such as `limits.maxBodyBytes`, or `argv` / `config` for the sources themselves. */
  readonly path: string;
  /** What is wrong, in words for the operator. */
  readonly message: string;
  /** Where the value came from: an environment variable, a flag, `config file <path>` or `default`. */
  readonly source: string;
  /** The offending value as JSON, left out for secrets. */
  readonly value?: string;
}

/** Thrown by {@link loadConfig} with every configuration problem at once, one `path: problem` per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Every problem found, in source order: command line, config file, then settings. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => {
      const value = p.value === undefined ? '' : ` = ${p.value}`;
      return `  ${p.path}: ${p.message} (from ${p.source}${value})`;
    });
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration, ${count}:\n${lines.join('\n')}`);
    this.problems = problems;
  }
}

/** A raw value with where it came from. */
interface Sourced {
  readonly value: unknown;
  readonly source: string;
}

/**
 * Loads the configuration from defaults < JSON config file < `PROGRESSDB_*` environment < flags,
 * validates it once and returns it deeply frozen. Only `main.ts` calls this.
 * @throws {ConfigError} listing every problem in every source at once.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: ConfigProblem[] = [];

  const flags = readFlags(options.argv ?? process.argv.slice(2), problems);
  const fileLocation = flags.get('config') ?? fromEnv(CONFIG_FILE_ENV, 'text', env);
  const file = fileLocation === undefined ? undefined : readConfigFile(fileLocation, cwd, problems);

  const chosen = new Map<string, Sourced>();
  const raw: Record<string, unknown> = {};
  for (const setting of CONFIG_SETTINGS) {
    const pick: Sourced =
      flags.get(setting.path) ??
      fromEnv(setting.env, setting.kind, env) ??
      fromFile(setting.path, file) ??
      fromDefault(setting);
    chosen.set(setting.path, pick);
    setIn(raw, setting.path, pick.value);
  }

  const result = configSchema.safeParse(raw);
  for (const issue of result.error?.issues ?? []) {
    const setting = settingAt(issue.path);
    const pick = setting === undefined ? undefined : chosen.get(setting.path);
    problems.push({
      path: formatPath(issue.path),
      message: issue.message,
      source: pick?.source ?? 'default',
      ...(pick?.value === undefined || setting?.secret === true ? {} : { value: show(pick.value) }),
    });
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems);

  const tls = resolveTls(result.data.tls, cwd, chosen, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({ ...result.data, dataDir: resolve(cwd, result.data.dataDir), tls });
}

/** Resolves the TLS files against `cwd` and reports each one the process cannot read. */
function resolveTls(
  tls: TlsConfig | undefined,
  cwd: string,
  chosen: ReadonlyMap<string, Sourced>,
  problems: ConfigProblem[],
): TlsConfig | undefined {
  if (tls === undefined) return undefined;
  const check = (field: keyof TlsConfig, path: string): string => {
    const absolute = resolve(cwd, path);
    try {
      accessSync(absolute, constants.R_OK);
    } catch (err) {
      problems.push({
        path: `tls.${field}`,
        message: `cannot read: ${describe(err)}`,
        source: chosen.get(`tls.${field}`)?.source ?? 'default',
        value: JSON.stringify(absolute),
      });
    }
    return absolute;
  };
  return {
    certFile: check('certFile', tls.certFile),
    keyFile: check('keyFile', tls.keyFile),
    clientCaFile:
      tls.clientCaFile === undefined ? undefined : check('clientCaFile', tls.clientCaFile),
  };
}

/** The `--help` text: every flag, plus the settings that only the environment or the file can set. */
export function configUsage(): string {
  const envOnly = CONFIG_SETTINGS.filter((s) => s.flag === undefined)
    .map((s) => `  ${s.env}  ${s.description}`)
    .join('\n');
  return `${buildProgram().program.helpInformation()}\nEnvironment or config file only:\n${envOnly}\n`;
}

function buildProgram(): { program: Command; options: Map<string, Option> } {
  const program = new Command('progressdb')
    .description('ProgressDB: a gRPC database for chat threads')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption(false)
    .configureHelp({ helpWidth: 100 })
    .allowUnknownOption()
    .allowExcessArguments();
  const options = new Map<string, Option>();
  const configOption = new Option(CONFIG_FILE_FLAG, `JSON config file (${CONFIG_FILE_ENV})`);
  program.addOption(configOption);
  options.set('config', configOption);
  for (const setting of CONFIG_SETTINGS) {
    if (setting.flag === undefined) continue;
    const help = `${setting.description} (${setting.env}, default ${showDefault(setting)})`;
    const option = new Option(setting.flag, help);
    program.addOption(option);
    options.set(setting.path, option);
  }
  return { program, options };
}

/** Parses the flags; unknown options, stray arguments and missing values become problems. */
function readFlags(argv: readonly string[], problems: ConfigProblem[]): Map<string, Sourced> {
  const { program, options } = buildProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    problems.push({
      path: 'argv',
      message: err.message.replace(/^error: /, ''),
      source: 'command line',
    });
  }
  for (const arg of program.args) {
    const message = arg.startsWith('-') ? 'unknown option' : 'unexpected argument';
    problems.push({ path: 'argv', message, source: 'command line', value: JSON.stringify(arg) });
  }
  const flags = new Map<string, Sourced>();
  for (const [path, option] of options) {
    const text: unknown = program.getOptionValue(option.attributeName());
    if (typeof text !== 'string') continue;
    const kind = CONFIG_SETTINGS.find((s) => s.path === path)?.kind ?? 'text';
    flags.set(path, { value: fromText(kind, text), source: option.long ?? option.flags });
  }
  return flags;
}

/** Reads a variable; empty counts as unset, so `VAR=` in a compose file does not override the file. */
function fromEnv(name: string, kind: SettingKind, env: NodeJS.ProcessEnv): Sourced | undefined {
  const text = env[name];
  return text === undefined || text === ''
    ? undefined
    : { value: fromText(kind, text), source: name };
}

const SWITCH_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['on', true],
  ['true', true],
  ['yes', true],
  ['1', true],
  ['off', false],
  ['false', false],
  ['no', false],
  ['0', false],
]);

/** Turns flag or variable text into the value the schema expects; anything malformed stays text so the schema reports it. */
function fromText(kind: SettingKind, text: string): unknown {
  switch (kind) {
    case 'integer':
      return /^[0-9]+$/.test(text) ? Number(text) : text;
    case 'list':
      return text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'switch':
      return SWITCH_WORDS.get(text.trim().toLowerCase()) ?? text;
    case 'text':
      return text;
  }
}

interface ConfigFile {
  readonly source: string;
  readonly data: Record<string, unknown>;
}

/** The config file's shape: known keys only, at every level; the values are checked with the other sources. */
const fileShape = (() => {
  const top: Record<string, z.ZodType> = {};
  const nested: Record<string, Record<string, z.ZodType>> = {};
  for (const { path } of CONFIG_SETTINGS) {
    const [head = '', leaf] = path.split('.');
    if (leaf === undefined) top[head] = z.unknown();
    else (nested[head] ??= {})[leaf] = z.unknown();
  }
  for (const [head, shape] of Object.entries(nested)) {
    top[head] = z.strictObject(shape, { error: 'must be an object' }).partial();
  }
  return z.strictObject(top).partial();
})();

function readConfigFile(
  location: Sourced,
  cwd: string,
  problems: ConfigProblem[],
): ConfigFile | undefined {
  const path = resolve(cwd, String(location.value));
  const fail = (message: string): undefined => {
    problems.push({
      path: 'config',
      message,
      source: location.source,
      value: JSON.stringify(path),
    });
    return undefined;
  };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return fail(
      err instanceof SyntaxError
        ? `not valid JSON: ${err.message}`
        : `cannot read: ${describe(err)}`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail('must hold a JSON object');
  }
  const source = `config file ${path}`;
  for (const issue of fileShape.safeParse(data).error?.issues ?? []) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const at = key === undefined ? issue.path : [...issue.path, key];
      const message = key === undefined ? issue.message : 'unknown setting';
      problems.push({ path: formatPath(at), message, source });
    }
  }
  return { source, data: data as Record<string, unknown> };
}

function fromFile(path: string, file: ConfigFile | undefined): Sourced | undefined {
  if (file === undefined) return undefined;
  let node: unknown = file.data;
  for (const segment of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node === undefined ? undefined : { value: node, source: file.source };
}

function fromDefault(setting: ConfigSetting): Sourced {
  return { value: setting.default, source: 'default' };
}

function setIn(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  const leaf = segments.pop() ?? path;
  let node = target;
  for (const segment of segments) node = (node[segment] ??= {}) as Record<string, unknown>;
  node[leaf] = value;
}

/** The setting an issue path points into, e.g. `['adminKeys', 2]` → `adminKeys`. */
function settingAt(path: readonly PropertyKey[]): ConfigSetting | undefined {
  const [first, second] = path.map(String);
  return (
    CONFIG_SETTINGS.find((s) => s.path === `${first}.${second}`) ??
    CONFIG_SETTINGS.find((s) => s.path === first)
  );
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) =>
      typeof segment === 'number' ? `[${segment}]` : `${i > 0 ? '.' : ''}${String(segment)}`,
    )
    .join('');
}

function showDefault(setting: ConfigSetting): string {
  if (setting.default === undefined) return 'none';
  if (typeof setting.default === 'boolean') return setting.default ? 'on' : 'off';
  return show(setting.default);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describe(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') {
    return err.code === 'ENOENT' ? 'no such file' : err.code;
  }
  return err instanceof Error ? err.message : String(err);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
