/**
 * Telemetry: structured logs, OpenTelemetry traces and metrics, the Prometheus endpoint. Other
 * folders use the thin surface here (`instruments`, `tracer` helpers): no-ops until the SDK starts,
 * so telemetry off costs a property read and an empty call.
 * Data flow: modules ⇒ Logger ⇒ JSON lines on stdout; modules ⇒ instruments/spans ⇒ OTel SDK ⇒
 * /metrics (Prometheus) and OTLP (traces, per `OTEL_*`).
 * @packageDocumentation
 */
export { createLogger, REDACTED_FIELDS, type Logger, type LoggerOptions } from './logger.js';
export {
  attributeSets,
  bindInstruments,
  instruments,
  observe,
  type Instruments,
  type ObservableName,
} from './instruments.js';
export { serveMetrics, type MetricsEndpoint } from './metrics-endpoint.js';
export { telemetryOptionsFor } from './telemetry-options.js';
export {
  shutdownTelemetry,
  startTelemetry,
  telemetryRuntime,
  type TelemetryOptions,
  type TelemetryRuntime,
} from './telemetry-runtime.js';
export { Attr, Metric, SCOPE, SpanName } from './telemetry-names.js';
export {
  activeSpanContext,
  endSpanWithError,
  SpanKind,
  startChildSpan,
  startSpanForParents,
  tracer,
} from './tracing.js';
