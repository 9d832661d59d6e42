import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { AdminServiceService } from '../gen/progressdb/v1/admin_service.js';
import { AuthServiceService } from '../gen/progressdb/v1/auth_service.js';
import { MessageServiceService } from '../gen/progressdb/v1/message_service.js';
import { TailServiceService } from '../gen/progressdb/v1/tail_service.js';
import { ThreadServiceService } from '../gen/progressdb/v1/thread_service.js';
import type { Retention, ThreadAdmin, ThreadLog } from '../log/index.js';
import type { Logger } from '../telemetry/index.js';
import { adminService } from './admin-service.js';
import { authService } from './auth-service.js';
import type { Authenticator } from './call-context.js';
import { TailHub } from '../tail/index.js';
import type { AdapterDeps } from './call-adapters.js';
import { CallGate } from './call-gate.js';
import { messageService } from './message-service.js';
import type { CallRateLimiter } from './rate-limiter.js';
import { captureBodies } from './request-bodies.js';
import { guardDecoding } from './request-decoding.js';
import type { Limits } from './request-validation.js';
import { encodeEventFrame, tailService } from './tail-service.js';
import { threadService } from './thread-service.js';
import { acceptEncoded, type EncodedResponse } from './wire-encoding.js';

/** What the gRPC server needs from configuration. */
export interface ServerOptions {
  host: string;
  port: number;
  limits: Limits;
  maxReceiveMessageBytes: number;
  shutdownGraceMs: number;
  /** TLS (and mutual TLS with a client CA); absent: plaintext. */
  tls: TlsFiles | undefined;
  tails: {
    /** Undelivered events a tail may have waiting before it is dropped as too slow. */
    maxBufferedEvents: number;
    /** Undelivered bytes a tail may have waiting before it is dropped as too slow. */
    maxBufferedBytes: number;
    /** Idle time before a tail gets a heartbeat, in ms. */
    heartbeatMs: number;
  };
}

/** The services health reports on, each by its full name; `''` is the server as a whole. */
const SERVICE_NAMES = [
  '',
  'progressdb.v1.ThreadService',
  'progressdb.v1.MessageService',
  'progressdb.v1.TailService',
  'progressdb.v1.AuthService',
  'progressdb.v1.AdminService',
];

function reflection(): ReflectionService {
  const descriptors = readFileSync(new URL('../gen/descriptor-set.binpb', import.meta.url));
  return new ReflectionService(loadFileDescriptorSetFromBuffer(descriptors));
}

/** TLS material, from configuration: a certificate and key, and a CA for client certificates. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string | undefined;
}

function credentials(tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.clientCaFile ? readFileSync(tls.clientCaFile) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    ca !== null,
  );
}

function bind(server: grpc.Server, address: string, tls: TlsFiles | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials(tls), (error, port) => {
      if (!error) {
        resolve(port);
        return;
      }
      // grpc-js says "No address added out of total 1 resolved errors: [listen EADDRINUSE …]".
      const why = /EADDRINUSE/.test(error.message) ? 'the address is in use' : error.message;
      reject(
        new Error(
          `cannot listen on ${address}: ${why}; set PROGRESSDB_LISTEN (--listen) to another ` +
            'host:port (port 0 picks a free one)',
          { cause: error },
        ),
      );
    });
  });
}

/**
 * The gRPC server: ProgressDB's services, health and reflection, and a graceful shutdown.
 * Data flow: client ⇄ grpc-js ⇄ adapters (auth, errors) ⇄ services ⇄ ThreadLog.
 */
export class ProgressDbServer {
  readonly #server: grpc.Server;
  readonly #health: HealthImplementation;
  readonly #gate: CallGate;
  readonly #options: ServerOptions;
  /** The live tails: their hub, for stats. */
  readonly tails: TailHub<EncodedResponse>;
  /** The bound `host:port`. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;

  private constructor(
    server: grpc.Server,
    health: HealthImplementation,
    gate: CallGate,
    tails: TailHub<EncodedResponse>,
    options: ServerOptions,
    port: number,
  ) {
    this.#server = server;
    this.#health = health;
    this.#gate = gate;
    this.tails = tails;
    this.#options = options;
    this.port = port;
    this.address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  }

  /** Builds the server and binds it. */
  static async start(deps: {
    log: ThreadLog;
    auth: Authenticator;
    limits: CallRateLimiter;
    admin: ThreadAdmin;
    retention: Retention;
    logger: Logger;
    options: ServerOptions;
  }): Promise<ProgressDbServer> {
    const { log, options } = deps;
    const gate = new CallGate();
    const adapter: AdapterDeps = {
      auth: deps.auth,
      limits: deps.limits,
      gate,
      logger: deps.logger,
    };
    const server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    });
    server.addService(
      acceptEncoded(guardDecoding(ThreadServiceService)),
      threadService(adapter, log, options.limits),
    );
    server.addService(
      acceptEncoded(guardDecoding(captureBodies(MessageServiceService))),
      messageService(adapter, log, options.limits),
    );
    const tails = new TailHub<EncodedResponse>({ encode: encodeEventFrame, ...options.tails });
    log.onCommit((events) => tails.publish(events));
    server.addService(
      acceptEncoded(guardDecoding(TailServiceService)),
      tailService(adapter, log, tails),
    );
    server.addService(
      guardDecoding(AuthServiceService),
      authService(adapter, deps.auth.tokens, deps.logger),
    );
    server.addService(
      guardDecoding(AdminServiceService),
      adminService(adapter, deps.admin, log, tails, deps.retention, deps.logger),
    );
    // NOT_SERVING until the app has everything open and calls serving().
    const health = new HealthImplementation({});
    for (const name of SERVICE_NAMES) health.setStatus(name, 'NOT_SERVING');
    health.addToServer(server);
    reflection().addToServer(server);
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const port = await bind(server, `${host}:${options.port}`, options.tls);
    return new ProgressDbServer(server, health, gate, tails, options, port);
  }

  /** Health goes SERVING for the server and each service: the database is open, the server ready. */
  serving(): void {
    if (this.#gate.draining) return;
    for (const name of SERVICE_NAMES) this.#health.setStatus(name, 'SERVING');
  }

  /**
   * First step of a graceful shutdown: health goes NOT_SERVING, new calls get
   * UNAVAILABLE/SHUTTING_DOWN, and unary calls in flight finish (up to the grace period).
   */
  async drain(): Promise<void> {
    for (const name of SERVICE_NAMES) this.#health.setStatus(name, 'NOT_SERVING');
    await withGrace(this.#gate.drain(), this.#options.shutdownGraceMs);
  }

  /**
   * Last step, once the writer has drained (so tails have every committed event): tails end with
   * UNAVAILABLE/SHUTTING_DOWN and their resume point, then the server stops.
   */
  async stop(): Promise<void> {
    this.tails.close();
    await withGrace(
      new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve())),
      this.#options.shutdownGraceMs,
    );
    this.#server.forceShutdown();
  }
}

/** Waits for `work`, or for `ms` at most. */
async function withGrace(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([work, grace]);
  clearTimeout(timer);
}
