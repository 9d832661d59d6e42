import { Command } from 'commander';
import {
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ProgressDBError,
  RateLimitedError,
  RevisionConflictError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
} from '../../sdk/src/index.js';

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
  if (error instanceof UnavailableError) {
    if (error.reason === 'SHUTTING_DOWN') {
      return `ProgressDB at ${address} is shutting down; try again once it is back`;
    }
    if (error.reason === 'KMS_UNAVAILABLE') {
      return withReason(`ProgressDB at ${address} cannot reach its key service (KMS)`, error);
    }
    if (/certificate|ssl|tls|handshake/i.test(error.details)) {
      return `cannot open a TLS connection to ProgressDB at ${address}: ${error.details}`;
    }
    return `cannot reach ProgressDB at ${address} — is it running? start it with \`npm start\``;
  }
  if (error instanceof UnauthenticatedError) {
    return withReason(
      `ProgressDB at ${address} refused the API key: pass a valid --api-key or set PROGRESSDB_API_KEY`,
      error,
    );
  }
  if (error instanceof PermissionDeniedError) {
    if (error.reason === 'ROLE_FORBIDDEN') {
      return withReason(
        'this API key may not do that: admin commands need an admin key, the others a backend key',
        error,
      );
    }
    return withReason(`not allowed: ${error.details}`, error);
  }
  if (error instanceof RevisionConflictError) {
    return withReason(
      `the thread moved on: expected revision ${String(error.expected)}, it is at ${String(error.actual)}`,
      error,
    );
  }
  if (error instanceof NotFoundError) return withReason(error.details, error);
  if (error instanceof InvalidArgumentError) {
    const field = error.field === undefined ? '' : ` (${error.field})`;
    return withReason(`invalid request${field}: ${error.details}`, error);
  }
  if (error instanceof RateLimitedError) {
    const wait = error.retryAfterMs === undefined ? '' : `; retry in ${error.retryAfterMs} ms`;
    return withReason(`rate limited by ProgressDB${wait}`, error);
  }
  if (error instanceof DeadlineExceededError) {
    return `ProgressDB at ${address} did not answer in time`;
  }
  if (error instanceof CancelledError) return 'cancelled';
  if (error instanceof UnimplementedError) {
    return `ProgressDB at ${address} does not support this yet (UNIMPLEMENTED)`;
  }
  if (error instanceof DataLossError) {
    return withReason(`the server could not read stored data: ${error.details}`, error);
  }
  if (error instanceof InternalError) {
    return 'ProgressDB failed with an internal error; its log has the details';
  }
  return withReason(error.details, error);
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
  if (error instanceof ProgressDBError) {
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
