import { createRequire } from 'node:module';
import { context, trace } from '@opentelemetry/api';
import {
  pino,
  type DestinationStream,
  type LevelWithSilent,
  type Logger as PinoLogger,
} from 'pino';

/** The structured logger every module receives from `main.ts`: pino's, so child loggers work as documented. */
export type Logger = PinoLogger;

/** How {@link createLogger} builds the logger. */
export interface LoggerOptions {
  /** Least severe level written; `silent` writes nothing. */
  level: LevelWithSilent;
  /** Human-readable lines for local development, if `pino-pretty` is installed; JSON otherwise. Default false. */
  pretty?: boolean;
  /** Where JSON lines go. Default stdout; tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

/** Field names whose values never reach a log line, at any of the first four levels: credentials and user content. */
export const REDACTED_FIELDS = [
  'authorization',
  'x-user-token',
  'apiKey',
  'key',
  'token',
  'secret',
  'body',
  'metadata',
] as const;

/** pino matches one level per wildcard, so each field is listed at depths 1 to 4. */
const DEPTH_PREFIXES = ['', '*.', '*.*.', '*.*.*.'];

function redactPaths(): string[] {
  return REDACTED_FIELDS.flatMap((name) =>
    DEPTH_PREFIXES.map((prefix) =>
      /^[A-Za-z_$][\w$]*$/.test(name) ? `${prefix}${name}` : `${prefix.slice(0, -1)}["${name}"]`,
    ),
  );
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * The trace and span ids of the active span, so a request's log lines join its trace. pino merges
 * into (mutates) what a mixin returns: always a fresh object.
 */
function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const ids = span.spanContext();
  if (!trace.isSpanContextValid(ids)) return {};
  return { trace_id: ids.traceId, span_id: ids.spanId };
}

/**
 * Creates the process logger: JSON lines on stdout with `service: "progressdb"`, ISO timestamps and
 * level names, `trace_id` and `span_id` inside a traced request, and every field of
 * {@link REDACTED_FIELDS} replaced by `[redacted]`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level,
    base: { service: 'progressdb' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: redactPaths(), censor: '[redacted]' },
    mixin: traceIds,
  };
  if (options.destination !== undefined) return pino(config, options.destination);
  if (options.pretty === true && prettyAvailable()) {
    return pino({ ...config, transport: { target: 'pino-pretty' } });
  }
  return pino(config);
}
