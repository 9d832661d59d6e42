import type { Client } from 'nice-grpc';
import { rpcPath, type CallOptions, type CallRunner } from './call-runner.js';
import { AdminServiceDefinition } from './gen/progressdb/v1/admin_service.js';
import type {
  BackupChunk,
  EncryptProgress,
  ExportBatch,
  PurgeResult,
  RetentionResult,
  RewrapProgress,
  Stats,
} from './model-types.js';

/** `client.admin`: AdminService (admin keys only; other keys get `PermissionDeniedError`). */
export interface AdminMethods {
  /** Counts, storage per column family, live subscribers, uptime. */
  getStats(options?: CallOptions): Promise<Stats>;
  /**
   * Hard-deletes every key of a thread and shreds its data key. Sent once, never retried: a
   * repeat after a lost answer would report `NotFoundError`.
   */
  purgeThread(input: { readonly threadId: string }, options?: CallOptions): Promise<PurgeResult>;
  /** Runs the retention policies now, or with `dryRun` reports what they would remove. */
  runRetention(
    input?: { readonly dryRun?: boolean },
    options?: CallOptions,
  ): Promise<RetentionResult>;
  /** Re-wraps every thread data key under the current (or given) master key; yields progress. */
  rewrapKeys(
    input?: { readonly kmsKeyId?: string },
    options?: CallOptions,
  ): AsyncIterable<RewrapProgress>;
  /** Seals the records written while encryption was off; yields progress. */
  encryptExisting(options?: CallOptions): AsyncIterable<EncryptProgress>;
  /**
   * Takes an online backup: yields the backup file's bytes in order (`data`), with the recorded
   * position and progress; the last chunk has `finished`. Never retried midway: a broken stream
   * fails, and a new backup starts over.
   */
  backup(options?: CallOptions): AsyncIterable<BackupChunk>;
  /**
   * Exports events in position order, in batches; content stays sealed unless `decrypt` (which the
   * server logs). Resume a broken export with `afterPosition` = the last position received.
   */
  exportEvents(input?: ExportEventsInput, options?: CallOptions): AsyncIterable<ExportBatch>;
}

/** What `admin.exportEvents` exports. */
export interface ExportEventsInput {
  /** Only this thread's events. */
  readonly threadId?: string;
  /** Only events after this position. */
  readonly afterPosition?: bigint;
  /** Open sealed bodies, metadata and titles (logged by the server with the key's id). */
  readonly decrypt?: boolean;
}

/** Builds `client.admin` over an AdminService client. */
export function adminMethods(
  client: Client<AdminServiceDefinition>,
  runner: CallRunner,
): AdminMethods {
  const path = (method: keyof AdminServiceDefinition['methods']): string =>
    rpcPath(AdminServiceDefinition, method);
  return {
    async getStats(options) {
      return runner.unary(path('getStats'), (o) => client.getStats({}, o), options, 'retry');
    },

    async purgeThread(input, options) {
      const request = { threadId: input.threadId };
      return runner.unary(
        path('purgeThread'),
        (o) => client.purgeThread(request, o),
        options,
        'once',
      );
    },

    async runRetention(input = {}, options) {
      const dryRun = input.dryRun ?? false;
      // A dry run only reads; a real run removes what is due, and a repeat finds less to remove.
      return runner.unary(
        path('runRetention'),
        (o) => client.runRetention({ dryRun }, o),
        options,
        'retry',
      );
    },

    rewrapKeys(input = {}, options) {
      const request = { kmsKeyId: input.kmsKeyId ?? '' };
      return runner.stream(path('rewrapKeys'), (o) => client.rewrapKeys(request, o), {
        ...options,
        deadlineAt: runner.deadlineAt(options, undefined),
      });
    },

    backup(options) {
      return runner.stream(path('backup'), (o) => client.backup({}, o), {
        ...options,
        deadlineAt: runner.deadlineAt(options, undefined),
      });
    },

    exportEvents(input = {}, options) {
      const request = {
        threadId: input.threadId ?? '',
        afterPosition: input.afterPosition ?? 0n,
        decrypt: input.decrypt ?? false,
      };
      return runner.stream(path('exportEvents'), (o) => client.exportEvents(request, o), {
        ...options,
        deadlineAt: runner.deadlineAt(options, undefined),
      });
    },

    encryptExisting(options) {
      return runner.stream(path('encryptExisting'), (o) => client.encryptExisting({}, o), {
        ...options,
        deadlineAt: runner.deadlineAt(options, undefined),
      });
    },
  };
}
