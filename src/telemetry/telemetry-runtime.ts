import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { bindInstruments } from './instruments.js';

/** How {@link startTelemetry} starts the SDK. */
export interface TelemetryOptions {
  /**
   * Register a Prometheus reader, served by `serveMetrics`. Without it (and without
   * `OTEL_METRICS_EXPORTER=otlp`), metrics are recorded nowhere.
   */
  metrics: boolean;
  /**
   * Span processors to use instead of the exporters the `OTEL_*` variables name (tests pass an
   * in-memory exporter's).
   */
  spanProcessors?: SpanProcessor[];
}

/** The started SDK: what the app needs of it. */
export interface TelemetryRuntime {
  /** The Prometheus reader, when metrics are on. */
  readonly prometheus: PrometheusExporter | undefined;
  /** Whether spans go to an exporter (or to the given processors), not only to log lines. */
  readonly exportingSpans: boolean;
}

interface Started extends TelemetryRuntime {
  sdk: NodeSDK;
}

/** An `OTEL_*` setting the SDK cannot honour (a start refused with its message, not a bug). */
export class TelemetryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TelemetryConfigError';
  }
}

/** The process-wide runtime; a const holder, as importers under the ESM hook see stale `let`s. */
const state: { started: Started | undefined } = { started: undefined };

/**
 * Whether the standard variables ask for a trace exporter. Without one the SDK would default to
 * OTLP on localhost:4318 and log a failure every few seconds; we then keep spans in process only
 * (for trace ids in log lines). OpenTelemetry keeps its own `OTEL_*` variables (STYLE.md).
 */
function spanExportRequested(env: NodeJS.ProcessEnv): boolean {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').trim();
  if (exporters !== '') return exporters !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * The OTLP metric reader the standard variables ask for (`OTEL_METRICS_EXPORTER=otlp`), beside the
 * Prometheus endpoint: every `OTEL_METRIC_EXPORT_INTERVAL` ms (default 60000) to
 * `OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT`, as `http/protobuf` (the default) or `http/json`.
 * @throws TelemetryConfigError for a protocol this build does not export (`grpc`).
 */
function otlpMetricReader(env: NodeJS.ProcessEnv): MetricReader | undefined {
  const exporters = (env.OTEL_METRICS_EXPORTER ?? '').split(',').map((name) => name.trim());
  if (!exporters.includes('otlp')) return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new TelemetryConfigError(
      `OTLP metrics over "${protocol}" are not supported: set OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ` +
        'to http/protobuf or http/json',
    );
  }
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? '');
  return new PeriodicExportingMetricReader({
    exporter:
      protocol === 'http/json' ? new OtlpJsonMetricExporter() : new OtlpProtoMetricExporter(),
    exportIntervalMillis: Number.isInteger(interval) && interval > 0 ? interval : 60_000,
  });
}

function serviceNamed(env: NodeJS.ProcessEnv): boolean {
  return (
    Boolean(env.OTEL_SERVICE_NAME) ||
    /(^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '')
  );
}

/**
 * Starts the OpenTelemetry SDK once per process: traces (with the gRPC server instrumentation),
 * and a Prometheus reader for metrics. Later calls return the first runtime. gRPC spans appear only
 * if this runs before `@grpc/grpc-js` is imported, under the instrumentation's ESM hook: start the
 * process with `--import ./src/telemetry/preload.mjs`.
 */
export function startTelemetry(options: TelemetryOptions): TelemetryRuntime {
  if (state.started) return state.started;
  const prometheus = options.metrics
    ? new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true })
    : undefined;
  const exporting = options.spanProcessors !== undefined || spanExportRequested(process.env);
  const otlpMetrics = otlpMetricReader(process.env);
  const sdk = new NodeSDK({
    // `progressdb` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name the service.
    ...(serviceNamed(process.env) ? {} : { serviceName: 'progressdb' }),
    instrumentations: [new GrpcInstrumentation()],
    metricReaders: [prometheus, otlpMetrics].filter((reader) => reader !== undefined),
    // Logs are pino's JSON lines on stdout; without this the SDK would set up an OTLP log exporter.
    logRecordProcessors: [],
    // Absent, the SDK builds the exporters OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_* name.
    ...(options.spanProcessors
      ? { spanProcessors: options.spanProcessors }
      : exporting
        ? {}
        : { spanProcessors: [new NoopSpanProcessor()] }),
  });
  sdk.start();
  bindInstruments();
  state.started = { sdk, prometheus, exportingSpans: exporting };
  return state.started;
}

/** The running telemetry, if started. */
export function telemetryRuntime(): TelemetryRuntime | undefined {
  return state.started;
}

/** Flushes and stops the SDK (exports pending spans); safe to call when it never started. */
export async function shutdownTelemetry(): Promise<void> {
  const started = state.started;
  if (!started) return;
  await started.sdk.shutdown();
}
