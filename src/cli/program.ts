import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { EXIT_USAGE } from './cli-error.js';
import { register as registerAppend } from './commands/append.js';
import { register as registerMessages } from './commands/messages.js';
import { register as registerRewrap } from './commands/rewrap.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerStats } from './commands/stats.js';
import { register as registerTail } from './commands/tail.js';
import { register as registerThreads } from './commands/threads.js';

/** A command module: `src/cli/commands/<name>.ts`. */
interface CommandModule {
  register(program: Command): void;
}

/**
 * Commands whose modules load the backup format and storage code at import (half a second): they
 * are imported only when the command line names them, or for the full help.
 */
const HEAVY_COMMANDS: Readonly<Record<string, () => Promise<CommandModule>>> = {
  backup: () => import('./commands/backup.js'),
  restore: () => import('./commands/restore.js'),
  export: () => import('./commands/export.js'),
  import: () => import('./commands/import.js'),
};

const LIGHT_COMMANDS = ['serve', 'stats', 'threads', 'append', 'messages', 'tail', 'rewrap'];

/** The CLI's version: the package's. */
function version(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The heavy command modules `argv` needs: the one it names; all of them for help or a typo. */
async function heavyModulesFor(argv: readonly string[]): Promise<CommandModule[]> {
  const name = argv.slice(2).find((arg) => !arg.startsWith('-'));
  if (name !== undefined && LIGHT_COMMANDS.includes(name)) return [];
  const load = HEAVY_COMMANDS[name ?? ''];
  if (load !== undefined) return [await load()];
  return Promise.all(Object.values(HEAVY_COMMANDS).map((loader) => loader()));
}

/**
 * Builds the `progressdb` program for `argv` (as `process.argv`): the shared settings first
 * (subcommands inherit them when created), then every command module's `register`. Usage errors
 * exit with code 2.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const heavy = await heavyModulesFor(argv);
  const program = new Command('progressdb')
    .description('ProgressDB: a gRPC database for chat threads. Serve it, inspect it, talk to it.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .enablePositionalOptions()
    .showHelpAfterError('(progressdb --help lists the commands)')
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, 'progressdb: ')),
    })
    .configureHelp({ helpWidth: 100, sortSubcommands: false })
    .exitOverride((error) => {
      throw error;
    });
  program.addHelpText(
    'after',
    `
Client commands connect to PROGRESSDB_ADDRESS (default 127.0.0.1:50051) with PROGRESSDB_API_KEY,
or with the key that \`npm start\` wrote to ./data/api-keys.json.

Examples:
  $ progressdb serve --data-dir ./data
  $ progressdb append support-42 "Hello there" --user alice
  $ progressdb tail support-42
  $ progressdb stats --json`,
  );
  registerServe(program);
  for (const module of heavy) module.register(program);
  registerStats(program);
  registerThreads(program);
  registerAppend(program);
  registerMessages(program);
  registerTail(program);
  registerRewrap(program);
  for (const command of program.commands) {
    const name = `progressdb ${command.name()}`;
    command.showHelpAfterError(`usage: ${name} ${command.usage()}\n(${name} --help for more)`);
  }
  return program;
}

/** Exit code of a commander error: 0 for help and version, 2 for every usage error. */
export function exitCodeOf(error: { exitCode: number; code: string }): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  return error.exitCode === 0 ? 0 : EXIT_USAGE;
}
