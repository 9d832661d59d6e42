import type { ServerWritableStream } from '@grpc/grpc-js';
import { exportEvents, writeBackup } from '../backup/index.js';
import type { AdminServiceServer } from '../gen/progressdb/v1/admin_service.js';
import type { ThreadLog } from '../log/index.js';
import type { Logger } from '../telemetry/index.js';
import { serverStream, type AdapterDeps } from './call-adapters.js';
import { requireId } from './request-validation.js';

/** Writes one message, waiting for the client to drain (or go away) when its buffer is full. */
async function send<Req, Res>(call: ServerWritableStream<Req, Res>, message: Res): Promise<void> {
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

/**
 * AdminService's Backup and ExportEvents (admin keys only): an online backup streamed as the bytes
 * of its file, and events exported for analytics, sealed unless asked to decrypt.
 * Data flow: admin → AdminService → src/backup → ThreadLog reader → RocksStore.
 */
export function backupHandlers(
  deps: AdapterDeps,
  log: ThreadLog,
  logger: Logger,
): Pick<AdminServiceServer, 'backup' | 'exportEvents'> {
  const service = 'AdminService';
  return {
    backup: serverStream(deps, service, 'Backup', async (_request, context, call) => {
      const started = Date.now();
      const { chunks, progress, counts } = writeBackup(log.reader.store, log.position);
      logger.info({ position: progress.position, keyId: context.keyId }, 'backup started');
      const status = () => ({
        position: progress.position,
        eventsDone: progress.eventsDone,
        eventsEstimated: progress.eventsEstimated,
      });
      for await (const data of chunks) {
        if (call.cancelled) {
          await chunks.return(undefined);
          logger.info({ position: progress.position }, 'backup cancelled by the client');
          return;
        }
        await send(call, { data, ...status(), finished: false });
      }
      if (call.cancelled) return;
      await send(call, { data: Buffer.alloc(0), ...status(), finished: true });
      logger.info(
        { ...counts, position: progress.position, ms: Date.now() - started },
        'backup finished',
      );
    }),

    exportEvents: serverStream(deps, service, 'ExportEvents', async (request, context, call) => {
      const threadId =
        request.threadId === '' ? undefined : requireId(request.threadId, 'thread_id');
      const headPosition = log.position;
      // Decrypted content leaves the server: every such export is on record, with who asked.
      if (request.decrypt) {
        logger.warn(
          { keyId: context.keyId, threadId, afterPosition: request.afterPosition, headPosition },
          'decrypting export',
        );
      }
      for await (const rows of exportEvents(log, {
        threadId,
        afterPosition: request.afterPosition,
        decrypt: request.decrypt,
        headPosition,
      })) {
        if (call.cancelled) return;
        await send(call, {
          headPosition,
          events: rows.map((row) => ({
            threadId: row.threadId,
            revision: row.revision,
            position: row.position,
            kind: row.kind,
            time: new Date(Number(row.timeMs)),
            actorId: row.actorId,
            requestId: row.requestId,
            payload: row.payload,
            sealed: row.sealed,
          })),
        });
      }
    }),
  };
}
