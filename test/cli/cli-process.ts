import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The `progressdb` entry point, run as users run it: `node bin/progressdb.mjs …`. */
export const BIN = fileURLToPath(new URL('../../bin/progressdb.mjs', import.meta.url));

/** What a finished CLI run left behind. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of a CLI run. */
export interface CliRunOptions {
  /** Extra environment variables (the test's own PROGRESSDB_* variables are never inherited). */
  readonly env?: Record<string, string>;
  /** Working directory; default: the repository root. */
  readonly cwd?: string;
  /** Text written to stdin, which is then closed. */
  readonly input?: string;
}

/** The environment of a CLI child: the test's, without PROGRESSDB_* and node:test's own variables. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('PROGRESSDB_') || name.startsWith('NODE_TEST') || name === 'NODE_OPTIONS')
      continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** A CLI process still running, with its output so far. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `text` has appeared on the stream (the whole output so far is searched). */
  waitFor(text: string | RegExp, stream?: 'stdout' | 'stderr'): Promise<string>;
  /** Resolves when the process has exited. */
  exited(): Promise<CliResult>;
}

/** Starts `progressdb <args>` and returns it while it runs. */
export function spawnCli(args: readonly string[], options: CliRunOptions = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? fileURLToPath(new URL('../..', import.meta.url)),
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
    wake();
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  let done = false;
  const exit = once(child, 'close').then(([code, signal]) => {
    done = true;
    wake();
    return {
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout: output.stdout,
      stderr: output.stderr,
    };
  });
  return {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitFor(text, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const seen = output[stream];
          const found = typeof text === 'string' ? seen.includes(text) : text.test(seen);
          if (found) resolve(seen);
          else if (done) {
            reject(
              new Error(
                `progressdb exited before printing ${String(text)} on ${stream}\n` +
                  `stdout: ${output.stdout}\nstderr: ${output.stderr}`,
              ),
            );
          } else waiters.push(check);
        };
        check();
      });
    },
    exited: () => exit,
  };
}

/** Runs `progressdb <args>` to the end. */
export async function runCli(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliResult> {
  return spawnCli(args, options).exited();
}
