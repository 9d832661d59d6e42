import type { AdminServiceServer } from '../gen/progressdb/v1/admin_service.js';
import { invalidField, type Retention, type ThreadAdmin, type ThreadLog } from '../log/index.js';
import type { TailHub } from '../tail/index.js';
import type { Logger } from '../telemetry/index.js';
import { backupHandlers } from './backup-service.js';
import { serverStream, unary, type AdapterDeps } from './call-adapters.js';
import { requireId } from './request-validation.js';

/** Key ids name master keys or KMS keys (ids, ARNs, aliases): bounded and printable. */
const KMS_KEY_ID = /^[A-Za-z0-9:/_.+=@-]{1,256}$/;

/**
 * AdminService (admin keys only): statistics, purging threads with crypto-shredding, retention on
 * demand, re-wrapping data keys, sealing records written in the clear, backups and exports.
 * Data flow: admin → AdminService → (ThreadAdmin, Retention) → writer jobs.
 */
export function adminService(
  deps: AdapterDeps,
  admin: ThreadAdmin,
  log: ThreadLog,
  hub: TailHub<unknown>,
  retention: Retention,
  logger: Logger,
): AdminServiceServer {
  const service = 'AdminService';
  const startedAt = Date.now();
  return {
    ...backupHandlers(deps, log, logger),
    getStats: unary(deps, service, 'GetStats', () => {
      const totals = log.reader.counters();
      const tails = hub.stats();
      const commit = log.lastCommit;
      return {
        threads: totals.threads,
        deletedThreads: totals.deleted_threads,
        messages: totals.messages,
        deletedMessages: totals.deleted_messages,
        events: totals.events,
        columnFamilies: log.reader.store.familySizes(),
        subscribers: Object.entries(tails.subscribers).map(([kind, count]) => ({
          kind,
          count: BigInt(count),
        })),
        uptimeSeconds: BigInt(Math.floor((Date.now() - startedAt) / 1000)),
        lastGroupCommit: commit
          ? {
              commands: commit.commands,
              events: commit.events,
              bytes: BigInt(commit.bytes),
              durationMicros: BigInt(Math.round(commit.durationMicros)),
            }
          : undefined,
        position: log.position,
      };
    }),
    runRetention: unary(deps, service, 'RunRetention', async (request, context) => {
      const report = await retention.run({ dryRun: request.dryRun });
      logger.info(
        {
          dryRun: report.dryRun,
          threadsPurged: report.threadsPurged,
          messagesPurged: report.messagesPurged,
          versionsPurged: report.versionsPurged,
          keyId: context.keyId,
        },
        report.dryRun ? 'retention dry run' : 'ran retention on demand',
      );
      return report;
    }),
    encryptExisting: serverStream(
      deps,
      service,
      'EncryptExisting',
      async (_request, context, call) => {
        let last = { done: 0n, total: 0n };
        for await (const progress of admin.encryptExisting()) {
          if (call.cancelled) return;
          last = progress;
          call.write({ ...progress, finished: false });
        }
        call.write({ ...last, finished: true });
        logger.info(
          { sealed: last.done, keyId: context.keyId },
          'sealed records written in the clear',
        );
      },
    ),

    purgeThread: unary(deps, service, 'PurgeThread', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const eventsRemoved = await admin.purge(threadId);
      logger.info({ threadId, eventsRemoved, keyId: context.keyId }, 'purged a thread');
      return { threadId, eventsRemoved };
    }),

    rewrapKeys: serverStream(deps, service, 'RewrapKeys', async (request, context, call) => {
      if (request.kmsKeyId !== '' && !KMS_KEY_ID.test(request.kmsKeyId)) {
        throw invalidField('kms_key_id', 'is not a key id, ARN or alias');
      }
      const target = request.kmsKeyId === '' ? undefined : request.kmsKeyId;
      let last = { done: 0n, total: 0n };
      for await (const progress of admin.rewrapAll(target)) {
        if (call.cancelled) return;
        last = progress;
        call.write({ ...progress, finished: false });
      }
      call.write({ ...last, finished: true });
      logger.info({ rewrapped: last.done, keyId: context.keyId }, 're-wrapped thread data keys');
    }),
  };
}
