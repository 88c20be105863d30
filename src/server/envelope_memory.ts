/**
 * ENVELOPEs held in memory as FETCH writes them, so that fetching a folder's envelopes again
 * reads nothing from the database: one per message, found by its folder's UIDVALIDITY and its
 * UID. That pair names one message for good: UIDs are never reused under a UIDVALIDITY, every
 * folder ever made has a UIDVALIDITY of its own (RFC 9051 §2.3.1.1), and a stored message never
 * changes. So nothing here is ever stale; what is dropped is only memory, and it is bounded:
 * past {@link EnvelopeMemory.maxBytes}, the folders least recently fetched from go first.
 *
 * @module
 */
import type { EncodedEnvelope } from "../imap/envelope.ts";

/** What an ENVELOPE costs here besides its octets (the map's entry and the object). */
const OVERHEAD = 96;

function cost(e: EncodedEnvelope): number {
  return e.ascii.length + (e.utf8?.length ?? 0) + OVERHEAD;
}

interface Folder {
  readonly byUid: Map<number, EncodedEnvelope>;
  bytes: number;
}

/** ENVELOPEs by folder and UID, bounded by bytes. */
export class EnvelopeMemory {
  /** By UIDVALIDITY, least recently used first. */
  readonly #folders = new Map<number, Folder>();
  #bytes = 0;
  /** The folder last used, left where it is in the order until another is used. */
  #last: number | undefined;

  constructor(readonly maxBytes: number) {}

  /** Octets held. */
  get bytes(): number {
    return this.#bytes;
  }

  #folder(validity: number): Folder | undefined {
    const f = this.#folders.get(validity);
    if (f && this.#last !== validity) {
      // Most recently used last: the first in the map is the first dropped.
      this.#folders.delete(validity);
      this.#folders.set(validity, f);
      this.#last = validity;
    }
    return f;
  }

  get(validity: number, uid: number): EncodedEnvelope | undefined {
    return this.#folder(validity)?.byUid.get(uid);
  }

  put(validity: number, uid: number, envelope: EncodedEnvelope): void {
    const size = cost(envelope);
    if (size > this.maxBytes) return;
    let f = this.#folder(validity);
    if (!f) {
      f = { byUid: new Map(), bytes: 0 };
      this.#folders.set(validity, f);
      this.#last = validity;
    }
    const before = f.byUid.get(uid);
    if (before) {
      f.bytes -= cost(before);
      this.#bytes -= cost(before);
    }
    f.byUid.set(uid, envelope);
    f.bytes += size;
    this.#bytes += size;
    while (this.#bytes > this.maxBytes) this.#drop(f);
  }

  /** Makes room: the least recently used folder goes, or else the oldest of KEEP's entries. */
  #drop(keep: Folder): void {
    const [validity, first] = this.#folders.entries().next().value!;
    if (first !== keep) {
      this.#folders.delete(validity);
      this.#bytes -= first.bytes;
      return;
    }
    const [uid, e] = keep.byUid.entries().next().value!;
    keep.byUid.delete(uid);
    keep.bytes -= cost(e);
    this.#bytes -= cost(e);
  }
}
