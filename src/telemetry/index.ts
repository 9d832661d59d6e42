/**
 * Telemetry: structured logs now; traces and metrics join here later.
 * Data flow: modules ⇒ Logger ⇒ JSON lines on stdout.
 * @packageDocumentation
 */
export { createLogger, REDACTED_FIELDS, type Logger, type LoggerOptions } from './logger.js';
