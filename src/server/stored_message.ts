/**
 * A message of the store as FETCH reads it (the IMAP module's MessageContent): a small message
 * comes whole with its row, a large one is read only as far as a FETCH asks: a partial or a
 * section reads the octets it names (its structure's offsets say where), and the whole of it is
 * read at most once, when an item needs it all.
 *
 * @module
 */
import { ImapBackendError } from "../imap/backend.ts";
import type { MessageContent } from "../imap/fetch_data.ts";
import { parseStructure, type Part } from "../imap/message_parts.ts";

/** How the message's octets are read: START to END, clamped; undefined when it is gone. */
export type RangeReader = (start: number, end: number) => Uint8Array | undefined;

function gone(): ImapBackendError {
  // Another session expunged it between the FETCH's look at it and this read (RFC 9051 §7.1).
  return new ImapBackendError("EXPUNGEISSUED", "Some messages no longer exist");
}

/** {@link MessageContent} that reads its bytes, and parses its structure, when first asked. */
export class StoredMessage implements MessageContent {
  #bytes: Uint8Array | undefined;
  #structure: Part | undefined;
  readonly #read: RangeReader;
  readonly #parsed: (structure: Part) => void;

  /**
   * BYTES: the whole message when it was read with its row; STRUCTURE: the kept one; READ reads
   * a range; PARSED is told of a structure parsed here (to keep it).
   */
  constructor(
    bytes: Uint8Array | undefined,
    structure: Part | undefined,
    read: RangeReader,
    parsed: (structure: Part) => void,
  ) {
    this.#bytes = bytes;
    this.#structure = structure;
    this.#read = read;
    this.#parsed = parsed;
  }

  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      this.#bytes = this.#read(0, Infinity);
      if (this.#bytes === undefined) throw gone();
    }
    return this.#bytes;
  }

  get structure(): Part {
    if (this.#structure === undefined) {
      // Parsed once, at the first FETCH that needs it, and kept with the message.
      this.#structure = parseStructure(this.bytes);
      this.#parsed(this.#structure);
    }
    return this.#structure;
  }

  range(start: number, end: number): Uint8Array {
    if (this.#bytes !== undefined) return this.#bytes.subarray(start, end);
    const bytes = this.#read(start, end);
    if (bytes === undefined) throw gone();
    return bytes;
  }
}
