import type { JsonValue } from '../../sdk/src/index.js';

/** Writes one line to stdout. */
export function println(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Writes one line of progress or notice to stderr, so stdout stays clean for pipes. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * JSON for scripts, one value per line: bigints become numbers when they are safe integers (every
 * realistic revision, seq and position) and strings beyond that; dates become ISO strings.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'bigint') return item;
    return item <= BigInt(Number.MAX_SAFE_INTEGER) && item >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(item)
      : item.toString();
  });
}

/** Prints `value` as one line of JSON on stdout. */
export function printJson(value: unknown): void {
  println(toJson(value));
}

/** Column alignment of {@link formatTable}. */
export type Align = 'left' | 'right';

/** Lays rows out in aligned columns under a header, two spaces apart; the last column is not padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        if (align[column] === 'right') return cell.padStart(width);
        return column === cells.length - 1 ? cell : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A time as a short ISO string in UTC, to the second: `2026-11-28 00:12:03Z`. */
export function isoTime(date: Date | undefined): string {
  if (date === undefined || Number.isNaN(date.getTime())) return '-';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** How long ago a time was, in the largest sensible unit: `just now`, `5m ago`, `3d ago`. */
export function relativeTime(date: Date | undefined, now = Date.now()): string {
  if (date === undefined || Number.isNaN(date.getTime())) return '-';
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (seconds < 0) return isoTime(date);
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  if (seconds < 30 * 86_400) return `${Math.floor(seconds / 86_400)}d ago`;
  return isoTime(date).slice(0, 10);
}

/** A duration in seconds as `3d 4h`, `2h 5m`, `4m 10s` or `12s`. */
export function duration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/** A byte count in binary units: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function bytes(count: bigint | number): string {
  let value = Number(count);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A count with thousands separators: `12,345`. */
export function count(value: bigint | number): string {
  return value.toLocaleString('en-US');
}

/**
 * A message body on one line: a string as itself, `{ "text": … }` as its text, anything else as
 * compact JSON. Control characters become spaces, so one message is one line.
 */
export function bodyText(body: JsonValue | undefined): string {
  let text: string;
  if (body === undefined || body === null) text = '';
  else if (typeof body === 'string') text = body;
  else if (
    typeof body === 'object' &&
    !Array.isArray(body) &&
    typeof body.text === 'string' &&
    Object.keys(body).length === 1
  ) {
    text = body.text;
  } else text = JSON.stringify(body);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

/** A count and a noun, in the plural unless the count is one: `1 event`, `3 events`. */
export function plural(value: bigint | number, noun: string): string {
  return `${count(value)} ${noun}${value === 1 || value === 1n ? '' : 's'}`;
}

/** Shortens `text` to `width` characters, ending with `…` when cut. */
export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * Progress on stderr: a terminal gets one line redrawn in place, a log a line a second at most.
 * `done()` ends the line.
 */
export function progressPrinter(): { show(text: string, force?: boolean): void; done(): void } {
  const interactive = process.stderr.isTTY;
  let lastShown = 0;
  let shown = false;
  return {
    show(text, force = false) {
      const now = Date.now();
      if (interactive) {
        process.stderr.write(`\r${text}\u001b[K`);
        shown = true;
      } else if (force || now - lastShown >= 1000) {
        note(text);
        lastShown = now;
      }
    },
    done() {
      if (interactive && shown) process.stderr.write('\n');
      shown = false;
    },
  };
}
