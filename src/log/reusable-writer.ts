import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** Past this size a writer's buffer is dropped after use instead of kept. */
const MAX_KEPT_WRITER_BYTES = 1 << 20;

/**
 * A long-lived protobuf writer: a fresh writer starts at 128 bytes and doubles (allocating and
 * copying) until the message fits, for every message; this one has grown once. `finish()` copies
 * the bytes out and resets it. Encoding is synchronous, so uses of one writer never interleave;
 * an encoding nested inside another's needs a writer of its own.
 */
export class ReusableWriter {
  #writer = new BinaryWriter();

  /** The bytes `write` writes. A failed encoding leaves a fresh writer behind. */
  encode(write: (writer: BinaryWriter) => void): Buffer {
    let bytes: Uint8Array;
    try {
      write(this.#writer);
      bytes = this.#writer.finish();
    } catch (error) {
      // A failed encoding leaves the writer mid-message: start over with a fresh one.
      this.#writer = new BinaryWriter();
      throw error;
    }
    if (bytes.byteLength > MAX_KEPT_WRITER_BYTES) this.#writer = new BinaryWriter();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
