import type { Client } from 'nice-grpc';
import { rpcPath, type CallOptions, type CallRunner } from './call-runner.js';
import { AdminServiceDefinition } from './gen/progressdb/v1/admin_service.js';
import type {
  EncryptProgress,
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

    encryptExisting(options) {
      return runner.stream(path('encryptExisting'), (o) => client.encryptExisting({}, o), {
        ...options,
        deadlineAt: runner.deadlineAt(options, undefined),
      });
    },
  };
}
