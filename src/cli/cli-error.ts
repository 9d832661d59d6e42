import { Command } from 'commander';
// Types only: the SDK (and grpc-js under it) loads when a command connects, not for --help.
import type { ProgressDBError } from '../../sdk/src/index.js';

/** gRPC status codes, as the SDK's errors carry them. */
const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** True for the SDK's {@link ProgressDBError}s (told apart by shape, so the SDK need not load). */
export function isProgressDBError(error: unknown): error is ProgressDBError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ProgressDBError>).code === 'number' &&
    typeof (error as Partial<ProgressDBError>).details === 'string' &&
    typeof (error as Partial<ProgressDBError>).metadata === 'object'
  );
}

/** True for the SDK's `CancelledError`: the call's signal aborted or the client closed. */
export function isCancelled(error: unknown): boolean {
  return isProgressDBError(error) && (error.code as number) === Code.CANCELLED;
}

/** Exit code of a failed command. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error (bad flag, missing argument, no key). */
export const EXIT_USAGE = 2;

/** A failure the CLI explains itself: one line for the person at the terminal, and an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode = EXIT_FAILURE) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** What the error printer needs to know about the failed command. */
export interface ErrorContext {
  /** The server address the command used. */
  readonly address?: string | undefined;
}

const withReason = (text: string, error: ProgressDBError): string =>
  error.reason === undefined ? text : `${text} (${error.reason})`;

/** An SDK error in plain words. */
function describeSdkError(error: ProgressDBError, address: string): string {
  const { reason, details, metadata } = error;
  const code: number = error.code;
  switch (code) {
    case Code.UNAVAILABLE:
      if (reason === 'SHUTTING_DOWN') {
        return `ProgressDB at ${address} is shutting down; try again once it is back`;
      }
      if (reason === 'KMS_UNAVAILABLE') {
        return withReason(`ProgressDB at ${address} cannot reach its key service (KMS)`, error);
      }
      if (/certificate|ssl|tls|handshake/i.test(details)) {
        const cause = /Last error: (?:Error: )?([^.]+)/.exec(details)?.[1] ?? details;
        return `cannot open a TLS connection to ProgressDB at ${address}: ${cause} (does --tls-ca name the server's CA?)`;
      }
      return `cannot reach ProgressDB at ${address} — is it running? start it with \`npm start\``;
    case Code.UNAUTHENTICATED:
      return withReason(
        `ProgressDB at ${address} refused the API key: pass a valid --api-key or set PROGRESSDB_API_KEY`,
        error,
      );
    case Code.PERMISSION_DENIED:
      return reason === 'ROLE_FORBIDDEN'
        ? withReason(
            'this API key may not do that: admin commands need an admin key, the others a backend key',
            error,
          )
        : withReason(`not allowed: ${details}`, error);
    case Code.FAILED_PRECONDITION:
      if (reason === 'REVISION_CONFLICT') {
        const expected = metadata.expected ?? '?';
        const actual = metadata.actual ?? '?';
        return withReason(
          `the thread moved on: expected revision ${expected}, it is at ${actual}`,
          error,
        );
      }
      return withReason(details, error);
    case Code.INVALID_ARGUMENT: {
      const field = metadata.field === undefined ? '' : ` (${metadata.field})`;
      return withReason(`invalid request${field}: ${details}`, error);
    }
    case Code.RESOURCE_EXHAUSTED: {
      const after = metadata.retry_after_ms;
      const wait = after === undefined ? '' : `; retry in ${after} ms`;
      return withReason(`ProgressDB refused: over a limit${wait}: ${details}`, error);
    }
    case Code.DEADLINE_EXCEEDED:
      return `ProgressDB at ${address} did not answer in time`;
    case Code.CANCELLED:
      return 'cancelled';
    case Code.UNIMPLEMENTED:
      return `ProgressDB at ${address} does not support this yet (UNIMPLEMENTED)`;
    case Code.DATA_LOSS:
      return withReason(`the server could not read stored data: ${details}`, error);
    case Code.INTERNAL:
    case Code.UNKNOWN:
      return 'ProgressDB failed with an internal error; its log has the details';
    default:
      // NOT_FOUND, ALREADY_EXISTS and the rest: the server's message names the thread or message.
      return withReason(details, error);
  }
}

/** A file-system error (from an option naming a file) in plain words, or undefined. */
function describeSystemError(error: NodeJS.ErrnoException): string | undefined {
  const path = error.path === undefined ? '' : ` ${error.path}`;
  switch (error.code) {
    case 'ENOENT':
      return `no such file or folder:${path}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied:${path}`;
    case 'EISDIR':
      return `is a folder, not a file:${path}`;
    case 'EEXIST':
      return `already exists:${path}`;
    default:
      return undefined;
  }
}

/**
 * Turns any error into one line of plain words and an exit code: the SDK's typed errors, connection
 * failures ("cannot reach ProgressDB at … — is it running?"), file errors and {@link CliError}s.
 * Never a stack trace.
 */
export function describeError(
  error: unknown,
  context: ErrorContext = {},
): { message: string; exitCode: number } {
  const address = context.address ?? 'the given address';
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (isProgressDBError(error)) {
    return { message: describeSdkError(error, address), exitCode: EXIT_FAILURE };
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    const message = describeSystemError(error as NodeJS.ErrnoException);
    if (message !== undefined) return { message, exitCode: EXIT_FAILURE };
  }
  // TypeError / RangeError from the SDK's own request checks: a bad flag value.
  if (error instanceof TypeError || error instanceof RangeError) {
    return { message: error.message, exitCode: EXIT_USAGE };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { message: `unexpected error: ${text}`, exitCode: EXIT_FAILURE };
}

/** Prints an error as `progressdb: <plain words>` on stderr and sets the process exit code. */
export function printError(error: unknown, context: ErrorContext = {}): void {
  const { message, exitCode } = describeError(error, context);
  process.stderr.write(`progressdb: ${message}\n`);
  process.exitCode = exitCode;
}

/**
 * Wraps a command's async action so that any failure is printed in plain words with its exit code
 * (see {@link describeError}) instead of a stack trace. Commander passes the command last.
 */
export function action<Args extends unknown[]>(
  run: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      const last: unknown = args[args.length - 1];
      const options: { address?: unknown } = last instanceof Command ? last.opts() : {};
      const address = typeof options.address === 'string' ? options.address : undefined;
      printError(error, { address });
    }
  };
}
