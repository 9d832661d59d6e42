import {
  metrics,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableCallback,
  type ObservableCounter,
  type ObservableGauge,
} from '@opentelemetry/api';
import { Metric, SCOPE } from './telemetry-names.js';

/** Bucket bounds in seconds, from 50 µs to 10 s: commits and most calls take well under 1 ms. */
const SECONDS_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10,
];
const COUNT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
const BYTES_BUCKETS = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/** Every instrument ProgressDB records; see docs/telemetry.md for the table. */
export interface Instruments {
  rpcDuration: Histogram;
  groupCommitCommands: Histogram;
  groupCommitEvents: Histogram;
  groupCommitBytes: Histogram;
  groupCommitWrite: Histogram;
  groupCommitDuration: Histogram;
  eventsAppended: ObservableCounter;
  familyWrittenBytes: ObservableCounter;
  familyWrittenKeys: ObservableCounter;
  familyBytes: ObservableGauge;
  familyKeys: ObservableGauge;
  diskBytes: ObservableGauge;
  tailSubscribers: ObservableGauge;
  tailDropped: Counter;
  tailDelivered: ObservableCounter;
  tailReplayed: ObservableCounter;
  kmsCalls: Counter;
  kmsDuration: Histogram;
  keyCacheLookups: ObservableCounter;
}

function create(meter: Meter): Instruments {
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
  return {
    rpcDuration: seconds(Metric.rpcDuration, 'gRPC calls, from arrival to status'),
    groupCommitCommands: meter.createHistogram(Metric.groupCommitCommands, {
      description: 'commands per group commit',
      unit: '{command}',
      advice: { explicitBucketBoundaries: COUNT_BUCKETS },
    }),
    groupCommitEvents: meter.createHistogram(Metric.groupCommitEvents, {
      description: 'events appended per group commit',
      unit: '{event}',
      advice: { explicitBucketBoundaries: COUNT_BUCKETS },
    }),
    groupCommitBytes: meter.createHistogram(Metric.groupCommitBytes, {
      description: 'keys and values written per group commit',
      unit: 'By',
      advice: { explicitBucketBoundaries: BYTES_BUCKETS },
    }),
    groupCommitWrite: seconds(Metric.groupCommitWrite, 'batch write and fsync of a group commit'),
    groupCommitDuration: seconds(
      Metric.groupCommitDuration,
      'group commit, from leaving the writer to its callers being answered',
    ),
    eventsAppended: meter.createObservableCounter(Metric.eventsAppended, {
      description: 'events appended to the log',
      unit: '{event}',
    }),
    familyWrittenBytes: meter.createObservableCounter(Metric.familyWrittenBytes, {
      description: 'keys and values written, by column family',
      unit: 'By',
    }),
    familyWrittenKeys: meter.createObservableCounter(Metric.familyWrittenKeys, {
      description: 'keys put or deleted, by column family',
      unit: '{key}',
    }),
    familyBytes: meter.createObservableGauge(Metric.familyBytes, {
      description: "a column family's SST files on disk (data not yet flushed is in the WAL)",
      unit: 'By',
    }),
    familyKeys: meter.createObservableGauge(Metric.familyKeys, {
      description: "estimated keys in a column family's SST files",
      unit: '{key}',
    }),
    diskBytes: meter.createObservableGauge(Metric.diskBytes, {
      description: 'database files on disk, by kind',
      unit: 'By',
    }),
    tailSubscribers: meter.createObservableGauge(Metric.tailSubscribers, {
      description: 'live tail subscribers, by kind',
      unit: '{subscriber}',
    }),
    tailDropped: meter.createCounter(Metric.tailDropped, {
      description: 'tail subscribers dropped as too slow, by kind',
      unit: '{subscriber}',
    }),
    tailDelivered: meter.createObservableCounter(Metric.tailDelivered, {
      description: 'events delivered live to tail subscribers',
      unit: '{event}',
    }),
    tailReplayed: meter.createObservableCounter(Metric.tailReplayed, {
      description: 'events tails replayed from storage',
      unit: '{event}',
    }),
    kmsCalls: meter.createCounter(Metric.kmsCalls, {
      description: 'key-provider calls, by provider, operation and outcome',
      unit: '{call}',
    }),
    kmsDuration: seconds(Metric.kmsDuration, 'key-provider calls, retries included'),
    keyCacheLookups: meter.createObservableCounter(Metric.keyCacheLookups, {
      description: 'data-key cache lookups, by result',
      unit: '{lookup}',
    }),
  };
}

/**
 * The instruments, bound to the global meter provider: no-ops until telemetry starts. The object
 * stays the same (importers hold it); `bindInstruments` replaces its members.
 */
export const instruments: Instruments = create(metrics.getMeter(SCOPE));

/** The observable instruments, by name. */
export type ObservableName = {
  [K in keyof Instruments]: Instruments[K] extends ObservableCounter | ObservableGauge ? K : never;
}[keyof Instruments];

/** Callbacks of observable instruments, kept to carry them over when the instruments are rebound. */
const observers = new Map<ObservableName, Set<ObservableCallback>>();

/**
 * Reports through an observable instrument: `callback` runs only when metrics are collected (a
 * scrape), so hot paths just bump plain numbers. Survives telemetry starting later.
 * @returns a function that stops the reporting.
 */
export function observe(name: ObservableName, callback: ObservableCallback): () => void {
  let set = observers.get(name);
  if (!set) observers.set(name, (set = new Set()));
  set.add(callback);
  instruments[name].addCallback(callback);
  return () => {
    set.delete(callback);
    instruments[name].removeCallback(callback);
  };
}

/** Binds {@link instruments} to the meter provider registered now; telemetry calls it once started. */
export function bindInstruments(): void {
  Object.assign(instruments, create(metrics.getMeter(SCOPE)));
  for (const [name, callbacks] of observers) {
    for (const callback of callbacks) instruments[name].addCallback(callback);
  }
}

/** Pre-built attribute sets, one per value: hot paths pass them without allocating. */
export function attributeSets<K extends string>(
  name: string,
  values: readonly K[],
  base: Attributes = {},
): Record<K, Attributes> {
  const sets = {} as Record<K, Attributes>;
  for (const value of values) sets[value] = Object.freeze({ ...base, [name]: value });
  return sets;
}
