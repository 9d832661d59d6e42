import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { SCOPE } from './telemetry-names.js';

/** ProgressDB's tracer: a no-op until telemetry starts (the API's proxy provider delegates later). */
export const tracer = trace.getTracer(SCOPE);

/**
 * The span context of the current request, if a sampled span is active: what a group commit links
 * to. Cheap: one async-context lookup.
 */
export function activeSpanContext(): SpanContext | undefined {
  const span = trace.getSpan(context.active());
  if (!span?.isRecording()) return undefined;
  return span.spanContext();
}

/**
 * Starts a child span of the active span, or returns undefined when there is none (background
 * work makes no root traces) or it is not recorded.
 */
export function startChildSpan(
  name: string,
  attributes?: Attributes,
  kind: SpanKind = SpanKind.INTERNAL,
): Span | undefined {
  const parent = trace.getSpan(context.active());
  if (!parent?.isRecording()) return undefined;
  return tracer.startSpan(name, { kind, attributes }, context.active());
}

/**
 * Starts a span under the first of `parents` with links to the others (a group commit carries the
 * requests of many traces), or undefined when there are no parents.
 */
export function startSpanForParents(
  name: string,
  parents: readonly SpanContext[],
  attributes?: Attributes,
): Span | undefined {
  const first = parents[0];
  if (!first) return undefined;
  const links: Link[] = [];
  for (let i = 1; i < parents.length && links.length < MAX_LINKS; i++) {
    links.push({ context: parents[i] as SpanContext });
  }
  return tracer.startSpan(
    name,
    { kind: SpanKind.INTERNAL, attributes, links },
    trace.setSpanContext(context.active(), first),
  );
}

/** Links kept per span: a group of thousands of requests links the first ones only. */
const MAX_LINKS = 128;

/** Ends `span` as failed, with the error's name only (messages may carry data). */
export function endSpanWithError(span: Span, error: unknown): void {
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.name : 'error',
  });
  span.end();
}

export { SpanKind };
