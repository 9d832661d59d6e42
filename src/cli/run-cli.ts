import { CommanderError } from 'commander';
import { printError } from './cli-error.js';
import { prepare as prepareServe } from './commands/serve.js';
import { buildProgram, exitCodeOf } from './program.js';

/**
 * Runs the `progressdb` CLI with `argv` (as `process.argv`) and exits with its code: 0 on success,
 * 1 when a command failed, 2 for usage errors. Errors are printed in plain words, never as stacks.
 */
export async function runCli(argv: readonly string[]): Promise<never> {
  // `progressdb messages x --all | head` closes the pipe early: that is the reader's choice, not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  if (argv.includes('serve')) await prepareServe();
  const program = await buildProgram(argv);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) process.exitCode = exitCodeOf(error);
    else printError(error);
  }
  // Exit explicitly: a command may leave idle handles (a closed channel's timers) behind.
  process.exit(process.exitCode ?? 0);
}
