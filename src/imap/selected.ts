/**
 * The selected folder as one session sees it (RFC 9051 §2.3.1.2, §7.5): the message sequence
 * numbers it has announced, each message's flags as last told, and what it has yet to tell.
 * Another session's changes reach this view only through {@link SelectedView.apply}, whose
 * output is the untagged responses that announce them, so the client's numbering and ours never
 * disagree.
 *
 * @module
 */
import type { FolderChanges, MessageMeta, OpenedFolder } from "./backend.ts";

/** An untagged update to announce: a flag change, new messages, or expunged ones. */
export type Update =
  | { readonly kind: "fetch"; readonly seq: number; readonly meta: MessageMeta }
  | { readonly kind: "exists"; readonly count: number }
  | { readonly kind: "expunge"; readonly seq: number }
  | { readonly kind: "vanished"; readonly uids: readonly number[] };

export class SelectedView {
  readonly id: number;
  readonly name: string;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  /** The UIDs by sequence number (index 0 is message 1), and each message as last told. */
  #uids: number[];
  #metas: MessageMeta[];
  #highestModseq: number;
  #uidNext: number;
  /** UIDs expunged in the store but not yet announced (they keep their numbers until then). */
  #pendingExpunge = new Set<number>();
  /** The result of SEARCH … SAVE (RFC 5182), as UIDs. */
  saved: number[] = [];
  /** The keywords the client has been told of (in FLAGS and PERMANENTFLAGS). */
  readonly #keywords: Set<string>;

  constructor(folder: OpenedFolder, name: string, readOnly: boolean) {
    this.id = folder.id;
    this.name = name;
    this.readOnly = readOnly;
    this.uidValidity = folder.uidValidity;
    this.#metas = [...folder.list];
    this.#uids = this.#metas.map((m) => m.uid);
    this.#highestModseq = folder.highestModseq;
    this.#uidNext = folder.uidNext;
    this.#keywords = new Set(folder.keywords);
  }

  /** The keywords known to the client. */
  get keywords(): readonly string[] {
    return [...this.#keywords];
  }

  /**
   * Takes note of the keywords of METAS; true when one is new to the client, which must then
   * be told the folder's FLAGS again (RFC 9051 §7.3.5).
   */
  learnKeywords(metas: readonly MessageMeta[]): boolean {
    let fresh = false;
    for (const m of metas) {
      for (const f of m.flags) {
        if (!f.startsWith("\\") && !this.#keywords.has(f)) {
          this.#keywords.add(f);
          fresh = true;
        }
      }
    }
    return fresh;
  }

  get exists(): number {
    return this.#uids.length;
  }

  get highestModseq(): number {
    return this.#highestModseq;
  }

  get uidNext(): number {
    return this.#uidNext;
  }

  /** The largest UID in the view (0 when empty): `*` in UID sets. */
  get maxUid(): number {
    return this.#uids[this.#uids.length - 1] ?? 0;
  }

  /** UID of sequence number SEQ (1-based), if any. */
  uidAt(seq: number): number | undefined {
    return this.#uids[seq - 1];
  }

  /** Sequence number of UID, or 0 when not in the view. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.#uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.#uids[mid]!;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** The message with UID as last told. */
  meta(uid: number): MessageMeta | undefined {
    const seq = this.seqOf(uid);
    return seq === 0 ? undefined : this.#metas[seq - 1];
  }

  /** Message SEQ (1-based) as last told. */
  metaAt(seq: number): MessageMeta | undefined {
    return this.#metas[seq - 1];
  }

  /** Every UID in the view, ascending. */
  get uids(): readonly number[] {
    return this.#uids;
  }

  /** Whether expunges are waiting to be announced. */
  get expungesPending(): boolean {
    return this.#pendingExpunge.size > 0;
  }

  /** Whether UID was expunged but not yet announced (its content may be gone). */
  isExpungedPending(uid: number): boolean {
    return this.#pendingExpunge.has(uid);
  }

  /** Records what this session itself just changed (its own STORE), without announcing it. */
  record(metas: readonly MessageMeta[]): void {
    for (const m of metas) {
      const seq = this.seqOf(m.uid);
      if (seq > 0) this.#metas[seq - 1] = m;
    }
  }

  /**
   * Takes CHANGES from the store into the view and returns what to announce. Expunges are
   * announced only when EXPUNGES is true (RFC 9051 §7.5.1: not during FETCH, STORE or SEARCH
   * by sequence number); until then those messages keep their numbers. With VANISHED (QRESYNC,
   * RFC 7162 §3.2.10) expunges are announced by UID.
   */
  apply(changes: FolderChanges, expunges: boolean, vanished: boolean): Update[] {
    const updates: Update[] = [];
    for (const uid of changes.expunged) if (this.seqOf(uid) > 0) this.#pendingExpunge.add(uid);
    if (expunges && this.#pendingExpunge.size > 0) {
      const gone = [...this.#pendingExpunge].sort((a, b) => a - b);
      if (vanished) {
        updates.push({ kind: "vanished", uids: gone });
        this.#metas = this.#metas.filter((m) => !this.#pendingExpunge.has(m.uid));
        this.#uids = this.#metas.map((m) => m.uid);
      } else {
        // Highest number first: each EXPUNGE then leaves the numbers still to come unchanged.
        for (let i = gone.length - 1; i >= 0; i--) {
          const seq = this.seqOf(gone[i]!);
          if (seq === 0) continue;
          this.#uids.splice(seq - 1, 1);
          this.#metas.splice(seq - 1, 1);
          updates.push({ kind: "expunge", seq });
        }
      }
      this.saved = this.saved.filter((u) => !this.#pendingExpunge.has(u));
      this.#pendingExpunge.clear();
    }
    const added: MessageMeta[] = [];
    for (const m of changes.changed) {
      if (this.#pendingExpunge.has(m.uid)) continue;
      const seq = this.seqOf(m.uid);
      const known = seq === 0 ? undefined : this.#metas[seq - 1];
      if (known) {
        if (known.modseq !== m.modseq || !sameFlags(known.flags, m.flags)) {
          this.#metas[seq - 1] = m;
          if (!sameFlags(known.flags, m.flags)) updates.push({ kind: "fetch", seq: 0, meta: m });
        }
      } else if (m.uid > this.maxUid) added.push(m);
    }
    for (const m of added) {
      this.#uids.push(m.uid);
      this.#metas.push(m);
    }
    if (added.length > 0) updates.push({ kind: "exists", count: this.#uids.length });
    // Sequence numbers of flag updates are those after the expunges and additions above.
    for (const u of updates) {
      if (u.kind === "fetch") (u as { seq: number }).seq = this.seqOf(u.meta.uid);
    }
    this.#highestModseq = Math.max(this.#highestModseq, changes.highestModseq);
    this.#uidNext = Math.max(this.#uidNext, changes.uidNext);
    return updates.filter((u) => u.kind !== "fetch" || u.seq > 0);
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}
