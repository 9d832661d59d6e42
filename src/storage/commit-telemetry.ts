import type { Span, SpanContext } from '@opentelemetry/api';
import {
  attributeSets,
  Attr,
  instruments,
  observe,
  SpanName,
  startSpanForParents,
} from '../telemetry/index.js';
import { ALL_FAMILIES, type FamilyName } from './column-families.js';
import type { GroupCommitInfo } from './group-commit-writer.js';
import type { BatchOp } from './rocks-store.js';

/** Metric attributes, built once: by durability, and by family and operation. */
const SYNC_ATTRIBUTES = attributeSets(Attr.sync, ['true', 'false']);
const FAMILY_ATTRIBUTES = ALL_FAMILIES.map((family) => Object.freeze({ [Attr.family]: family }));
const FAMILY_OP_ATTRIBUTES = ALL_FAMILIES.map((family) =>
  attributeSets(Attr.operation, ['put', 'del'], { [Attr.family]: family }),
);

/** Each family's place in ALL_FAMILIES, for the per-op counts of the commit path. */
const FAMILY_INDEX = Object.fromEntries(ALL_FAMILIES.map((family, i) => [family, i])) as Record<
  FamilyName,
  number
>;

/** What every writer of the process committed, as plain counts; reported when scraped. */
const written = {
  events: 0,
  /** Per family, in ALL_FAMILIES order. */
  bytes: ALL_FAMILIES.map(() => 0),
  puts: ALL_FAMILIES.map(() => 0),
  dels: ALL_FAMILIES.map(() => 0),
};
observe('eventsAppended', (result) => result.observe(written.events));
observe('familyWrittenBytes', (result) => {
  for (let i = 0; i < ALL_FAMILIES.length; i++) {
    result.observe(written.bytes[i] ?? 0, FAMILY_ATTRIBUTES[i]);
  }
});
observe('familyWrittenKeys', (result) => {
  for (let i = 0; i < ALL_FAMILIES.length; i++) {
    result.observe(written.puts[i] ?? 0, FAMILY_OP_ATTRIBUTES[i]?.put);
    result.observe(written.dels[i] ?? 0, FAMILY_OP_ATTRIBUTES[i]?.del);
  }
});

/**
 * A span for a group commit under the first traced request it carries, linked to the others;
 * undefined when none is traced. `parents` holds each carried job's request span, if any.
 */
export function startGroupSpan(
  jobs: readonly { entry: { parent: SpanContext | undefined } }[],
  sync: boolean,
): Span | undefined {
  const traced: SpanContext[] = [];
  for (const { entry } of jobs) if (entry.parent) traced.push(entry.parent);
  if (traced.length === 0) return undefined;
  return startSpanForParents(SpanName.groupCommit, traced, {
    [Attr.commands]: jobs.length,
    [Attr.sync]: sync,
  });
}

/** Sums a group's bytes (keys and values), counting them and its keys per family. */
export function countWrites(ops: readonly BatchOp[]): number {
  let bytes = 0;
  for (const op of ops) {
    const family = FAMILY_INDEX[op.family];
    const size = op.key.length + (op.type === 'put' ? op.value.length : 0);
    bytes += size;
    written.bytes[family] = (written.bytes[family] ?? 0) + size;
    const counts = op.type === 'put' ? written.puts : written.dels;
    counts[family] = (counts[family] ?? 0) + 1;
  }
  return bytes;
}

/** Records a durable group's figures and ends its span. `sentAtMs` is from performance.now(). */
export function recordGroupCommit(
  info: GroupCommitInfo,
  sentAtMs: number,
  span: Span | undefined,
): void {
  const sync = SYNC_ATTRIBUTES[info.sync ? 'true' : 'false'];
  instruments.groupCommitCommands.record(info.commands, sync);
  instruments.groupCommitEvents.record(info.events, sync);
  instruments.groupCommitBytes.record(info.bytes, sync);
  if (info.ops > 0) instruments.groupCommitWrite.record(info.durationMicros / 1e6, sync);
  instruments.groupCommitDuration.record((performance.now() - sentAtMs) / 1000, sync);
  written.events += info.events;
  if (span) {
    span.setAttribute(Attr.events, info.events);
    span.setAttribute(Attr.ops, info.ops);
    span.setAttribute(Attr.bytes, info.bytes);
    span.end();
  }
}
