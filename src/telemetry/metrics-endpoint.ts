import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTelemetry } from './telemetry-runtime.js';

/** The `/metrics` endpoint of a running app. */
export interface MetricsEndpoint {
  /** Where Prometheus scrapes, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops serving (the SDK and its instruments keep running). */
  close(): Promise<void>;
}

/**
 * Serves the Prometheus text format on `http://host:port/metrics` (port 0 picks a free one). Starts
 * telemetry with metrics if no preload did (gRPC spans then need the preload; metrics do not).
 * @throws Error when telemetry was started without metrics, or the port cannot be bound.
 */
export async function serveMetrics(listen: {
  host: string;
  port: number;
}): Promise<MetricsEndpoint> {
  const prometheus = startTelemetry({ metrics: true }).prometheus;
  if (!prometheus) throw new Error('telemetry started without metrics: cannot serve /metrics');
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      prometheus.getMetricsRequestHandler(request, response);
      return;
    }
    response.statusCode = 404;
    response.end('not found: metrics are on /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.message;
      reject(
        new Error(
          `cannot serve metrics on ${listen.host}:${listen.port}: ${why}; ` +
            'set PROGRESSDB_METRICS_LISTEN (--metrics-listen) to another host:port, or off',
          { cause: error },
        ),
      );
    };
    server.once('error', refuse);
    server.listen(listen.port, listen.host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
