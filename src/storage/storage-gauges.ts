import { readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObservableResult } from '@opentelemetry/api';
import { attributeSets, Attr, observe } from '../telemetry/index.js';
import { ALL_FAMILIES, type FamilyName } from './column-families.js';
import { readSstProperties } from './sst-properties.js';

/** Storage figures of one column family, from its SST files. */
export interface FamilySize {
  name: FamilyName;
  /** Bytes of the family's SST files; what is still only in the memtables (and WAL) is not counted. */
  bytes: bigint;
  /** Estimated keys in those files: entries minus deletions (a key in several files counts more than once). */
  keys: bigint;
}

interface SstFigures {
  family: string;
  bytes: number;
  keys: number;
}

const FAMILY_ATTRIBUTES = attributeSets(Attr.family, ALL_FAMILIES);
const FILE_KINDS = ['sst', 'wal', 'other'] as const;
const FILE_KIND_ATTRIBUTES = attributeSets(Attr.fileKind, FILE_KINDS);

function fileKind(name: string): (typeof FILE_KINDS)[number] {
  if (name.endsWith('.sst')) return 'sst';
  if (name.endsWith('.log')) return 'wal';
  return 'other';
}

function sstFiles(location: string): string[] {
  try {
    return readdirSync(location).filter((name) => name.endsWith('.sst'));
  } catch {
    return [];
  }
}

/**
 * What a database folder holds: bytes and keys per column family, read from each SST file's own
 * properties (the RocksDB binding reads DB properties of the default family only), and the bytes
 * of its files by kind. Reported as gauges, computed only when metrics are scraped.
 * Data flow: database folder → SST properties → GetStats, /metrics.
 */
export class StorageGauges {
  readonly #location: string;
  /** SST files are immutable: each is read once, by file name. */
  readonly #sst = new Map<string, SstFigures | undefined>();
  readonly #unobserve: (() => void)[];
  /** The last listing's figures: one scrape asks for them twice (bytes, keys) in a row. */
  #recent: { atMs: number; sizes: FamilySize[] } | undefined;

  constructor(location: string) {
    this.#location = location;
    this.#unobserve = [
      observe('diskBytes', (result) => this.#observeDisk(result)),
      observe('familyBytes', (result) => {
        for (const family of this.familySizes())
          result.observe(Number(family.bytes), FAMILY_ATTRIBUTES[family.name]);
      }),
      observe('familyKeys', (result) => {
        for (const family of this.familySizes())
          result.observe(Number(family.keys), FAMILY_ATTRIBUTES[family.name]);
      }),
    ];
  }

  /**
   * Bytes and estimated keys of every family's SST files; synchronous, reads new files once. A
   * listing less than a second old is reused, so one scrape lists the folder once.
   */
  familySizes(): FamilySize[] {
    const now = performance.now();
    if (this.#recent && now - this.#recent.atMs < 1000) return this.#recent.sizes;
    const sizes = this.#listSizes();
    this.#recent = { atMs: now, sizes };
    return sizes;
  }

  #listSizes(): FamilySize[] {
    const names = new Set(sstFiles(this.#location));
    for (const name of this.#sst.keys()) if (!names.has(name)) this.#sst.delete(name);
    const totals = new Map<string, { bytes: number; keys: number }>();
    for (const name of names) {
      if (!this.#sst.has(name)) this.#sst.set(name, this.#readSst(name));
      const figures = this.#sst.get(name);
      if (!figures) continue;
      const total = totals.get(figures.family) ?? { bytes: 0, keys: 0 };
      total.bytes += figures.bytes;
      total.keys += figures.keys;
      totals.set(figures.family, total);
    }
    return ALL_FAMILIES.map((name) => ({
      name,
      bytes: BigInt(totals.get(name)?.bytes ?? 0),
      keys: BigInt(totals.get(name)?.keys ?? 0),
    }));
  }

  /** Stops reporting. */
  close(): void {
    for (const stop of this.#unobserve) stop();
  }

  #readSst(name: string): SstFigures | undefined {
    const path = join(this.#location, name);
    const properties = readSstProperties(path);
    if (!properties) return undefined;
    try {
      return {
        family: properties.family,
        bytes: statSync(path).size,
        keys: Math.max(0, properties.entries - properties.deletions),
      };
    } catch {
      return undefined;
    }
  }

  async #observeDisk(result: ObservableResult): Promise<void> {
    const totals = { sst: 0, wal: 0, other: 0 };
    const names = await readdir(this.#location).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        const info = await stat(join(this.#location, name)).catch(() => undefined);
        if (info?.isFile()) totals[fileKind(name)] += info.size;
      }),
    );
    for (const kind of FILE_KINDS) result.observe(totals[kind], FILE_KIND_ATTRIBUTES[kind]);
  }
}
