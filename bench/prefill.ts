import { METHOD_PATHS, RequestPool } from './request-payloads.js';
import { type CallHeaders, connectTransport } from './unary-transport.js';

/**
 * Writes `total` messages with `AppendMessages` of `batchSize` (pre-encoded, `create_thread`) to
 * the threads of `threadIds` in turn, `inFlight` calls at a time over plain HTTP/2: to fill a server
 * before a figure that needs data. Resolves with the messages written.
 * @throws on the first failed call.
 */
export async function prefill(options: {
  address: string;
  headers: CallHeaders;
  threadIds: string[];
  total: number;
  bodyBytes: number;
  batchSize?: number;
  inFlight?: number;
}): Promise<number> {
  const batchSize = Math.min(options.batchSize ?? 100, options.total);
  const pool = RequestPool.appendMessages(options.threadIds, options.bodyBytes, batchSize, true);
  const transports = await Promise.all(
    [0, 1].map((i) => connectTransport('http2', options.address, options.headers, `prefill-${i}`)),
  );
  const calls = Math.ceil(options.total / batchSize);
  let issued = 0;
  let written = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      let failed = false;
      const issue = (): void => {
        if (failed) return;
        if (issued >= calls) {
          if (inFlight === 0) resolve();
          return;
        }
        const transport = transports[issued % transports.length];
        if (!transport) throw new Error('no connection');
        issued++;
        inFlight++;
        transport.call(METHOD_PATHS.appendMessages, pool.take(), (failure) => {
          inFlight--;
          if (failure) {
            failed = true;
            reject(new Error(`prefill: code ${failure.code}: ${failure.message}`));
            return;
          }
          written += batchSize;
          issue();
        });
      };
      for (let i = 0; i < (options.inFlight ?? 16); i++) issue();
    });
  } finally {
    for (const transport of transports) transport.close();
  }
  return written;
}
