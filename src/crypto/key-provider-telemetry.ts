import { SpanKind, type Attributes } from '@opentelemetry/api';
import {
  Attr,
  endSpanWithError,
  instruments,
  SpanName,
  startChildSpan,
} from '../telemetry/index.js';

/** A key-provider operation, as spans and metrics name it. */
export type KeyOperation = 'generate' | 'decrypt' | 'rewrap';

type ProviderKind = 'local' | 'aws';

interface OperationAttributes {
  span: Attributes;
  ok: Attributes;
  error: Attributes;
}

const OPERATIONS: readonly KeyOperation[] = ['generate', 'decrypt', 'rewrap'];

function operationAttributes(provider: ProviderKind): Record<KeyOperation, OperationAttributes> {
  const sets = {} as Record<KeyOperation, OperationAttributes>;
  for (const operation of OPERATIONS) {
    const span = Object.freeze({ [Attr.kmsProvider]: provider, [Attr.kmsOperation]: operation });
    sets[operation] = {
      span,
      ok: Object.freeze({ ...span, [Attr.outcome]: 'ok' }),
      error: Object.freeze({ ...span, [Attr.outcome]: 'error' }),
    };
  }
  return sets;
}

/** Attributes built once per provider kind and operation. */
const ATTRIBUTES: Record<ProviderKind, Record<KeyOperation, OperationAttributes>> = {
  local: operationAttributes('local'),
  aws: operationAttributes('aws'),
};

/**
 * Runs one key-provider call in a client span (`progressdb.kms.<operation>`) and counts it, with its
 * duration and outcome. Spans carry the provider and operation only: never keys or key material.
 */
export async function tracedKeyCall<T>(
  provider: ProviderKind,
  operation: KeyOperation,
  call: () => Promise<T>,
): Promise<T> {
  const attributes = ATTRIBUTES[provider][operation];
  const started = performance.now();
  // A child of the request that needs the key; work outside a request makes no span.
  const span = startChildSpan(
    `${SpanName.kmsPrefix}${operation}`,
    attributes.span,
    SpanKind.CLIENT,
  );
  try {
    const result = await call();
    instruments.kmsCalls.add(1, attributes.ok);
    span?.end();
    return result;
  } catch (error) {
    instruments.kmsCalls.add(1, attributes.error);
    if (span) endSpanWithError(span, error);
    throw error;
  } finally {
    instruments.kmsDuration.record((performance.now() - started) / 1000, attributes.span);
  }
}
