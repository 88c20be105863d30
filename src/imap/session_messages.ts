/**
 * Commands on the selected folder's messages (RFC 9051 §6.4): FETCH, STORE, SEARCH (RFC 4731
 * ESEARCH, RFC 5182 SEARCHRES), COPY, MOVE (RFC 6851), EXPUNGE, UID EXPUNGE (RFC 4315), CLOSE
 * and UNSELECT, with CONDSTORE's MODSEQ, CHANGEDSINCE and UNCHANGEDSINCE (RFC 7162).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { MessageMeta } from "./backend.ts";
import { contentItem } from "./fetch_data.ts";
import type { FetchItem } from "./fetch_items.ts";
import { parseHeader } from "./message_parts.ts";
import {
  atom,
  type Item,
  list,
  num,
  ResponseWriter,
  str,
  untagged,
  untaggedStatus,
} from "./response.ts";
import { concatBytes } from "../bytes.ts";
import { type Candidate, matches, needsHeaders, textTermKey, textTerms } from "./search.ts";
import type { SelectedView } from "./selected.ts";
import { compactSet, formatSequenceSet, resolveRanges, type SequenceSet } from "./sequence_set.ts";
import { type CommandOf, no, ok, type Result, type SessionContext } from "./session_context.ts";
import { UnknownEncodingError } from "./sections.ts";
import { flagItems, flagsResponses, validStoreFlags } from "./flags.ts";

/**
 * Octets of FETCH responses held before they are written out: a FETCH of a whole large folder
 * costs this much memory, not the folder's size.
 */
const FLUSH_BYTES = 256 * 1024;

/** The messages a set names: [sequence number, UID] pairs, ascending; BAD text if invalid. */
function resolve(
  view: SelectedView,
  set: SequenceSet,
  uid: boolean,
): { pairs: [number, number][] } | { bad: string } {
  if (set.kind === "saved") {
    const pairs = view.saved.map((u) => [view.seqOf(u), u] as [number, number]).filter(([s]) =>
      s > 0
    );
    return { pairs };
  }
  const pairs: [number, number][] = [];
  if (uid) {
    const ranges = resolveRanges(set, view.maxUid);
    const uids = view.uids;
    for (let i = 0; i < uids.length; i++) {
      const u = uids[i]!;
      for (const [a, b] of ranges) {
        if (u >= a && u <= b) {
          pairs.push([i + 1, u]);
          break;
        }
      }
    }
    return { pairs };
  }
  const ranges = resolveRanges(set, view.exists);
  const seen = new Set<number>();
  for (const [a, b] of ranges) {
    // RFC 9051 §9: a number past the last message is an error, unless the folder is empty.
    if (b > view.exists || a < 1) return { bad: "Invalid message sequence number" };
    for (let s = a; s <= b; s++) seen.add(s);
  }
  for (const s of [...seen].sort((x, y) => x - y)) pairs.push([s, view.uidAt(s)!]);
  return { pairs };
}

function fetchLine(ctx: SessionContext, seq: number, items: Item[]): Uint8Array[] {
  return untagged([num(seq), atom("FETCH"), list(items)], ctx.encoding);
}

function internalDate(d: Date): string {
  const months = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()} ${
    p(d.getUTCHours())
  }:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Items that need the message's content, and whether its header alone will do. ENVELOPE needs
 * none when the backend keeps it encoded (ENVELOPES).
 */
function contentNeeds(items: readonly FetchItem[], envelopes: boolean): "none" | "header" | "all" {
  let need: "none" | "header" | "all" = "none";
  for (const i of items) {
    if (i.kind === "ENVELOPE") {
      if (!envelopes) need = need === "all" ? "all" : "header";
    } else if (
      i.kind === "BODY[]" && i.section.part.length === 0 &&
      (i.section.text === "HEADER" || i.section.text === "HEADER.FIELDS" ||
        i.section.text === "HEADER.FIELDS.NOT")
    ) need = need === "all" ? "all" : "header";
    else if (i.kind === "RFC822.HEADER") need = need === "all" ? "all" : "header";
    else if (!["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "MODSEQ"].includes(i.kind)) {
      need = "all";
    }
  }
  return need;
}

/**
 * A message's FLAGS list, encoded. Lists that cannot change (the backend shares one frozen
 * array among the messages with the same flags) are encoded once.
 */
const encodedFlags = new WeakMap<readonly string[], Item>();

function flagsItem(flags: readonly string[]): Item {
  if (!Object.isFrozen(flags)) return flagItems(flags);
  let item = encodedFlags.get(flags);
  if (!item) {
    const w = new ResponseWriter({ utf8: false }, 64);
    w.item(flagItems(flags));
    item = { encoded: concatBytes(w.take()) };
    encodedFlags.set(flags, item);
  }
  return item;
}

/** FETCH and UID FETCH (RFC 9051 §6.4.5; RFC 7162 §3.1.4 CHANGEDSINCE). */
export async function fetch(ctx: SessionContext, cmd: CommandOf<"FETCH">): Promise<Result> {
  const view = ctx.selected!;
  const r = resolve(view, cmd.set, cmd.uid);
  if ("bad" in r) return no(r.bad, undefined, "BAD");
  const items = [...cmd.items];
  if (cmd.changedSince !== undefined || items.some((i) => i.kind === "MODSEQ")) ctx.useCondstore();
  if (cmd.uid && !items.some((i) => i.kind === "UID")) items.unshift({ kind: "UID" });
  // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ in every response.
  if (cmd.changedSince !== undefined && !items.some((i) => i.kind === "MODSEQ")) {
    items.push({ kind: "MODSEQ" });
  }
  // BODY[...] and RFC822/RFC822.TEXT set \Seen (RFC 9051 §6.4.5), unless read-only.
  const setsSeen = !view.readOnly &&
    items.some((i) =>
      (i.kind === "BODY[]" && !i.peek) || (i.kind === "BINARY[]" && !i.peek) ||
      i.kind === "RFC822" ||
      i.kind === "RFC822.TEXT"
    );
  const backend = ctx.backend;
  const need = contentNeeds(items, backend.envelope !== undefined);
  const utf8 = ctx.encoding.utf8;
  const data: Uint8Array[][] = [];
  let vanished = new Set<number>();
  if (cmd.vanished && cmd.changedSince !== undefined) {
    // RFC 7162 §3.2.6: first the UIDs of the set expunged since CHANGEDSINCE; those are not
    // fetched, even while this client's view still holds them.
    const gone = (await backend.changes(ctx.account, view.id, cmd.changedSince)).expunged;
    vanished = new Set(gone);
    const set = cmd.set.kind === "ranges"
      ? resolveRanges(cmd.set, Math.max(view.maxUid, ...gone))
      : [];
    const named = gone.filter((u) => set.some(([a, b]) => u >= a && u <= b));
    if (named.length > 0) {
      data.push(
        untagged([
          atom("VANISHED"),
          list([atom("EARLIER")]),
          atom(formatSequenceSet(compactSet(named))),
        ], ctx.encoding),
      );
    }
  }
  let missing = false;
  if (setsSeen) {
    const unseen = r.pairs.filter(([, u]) => !view.meta(u)?.flags.includes("\\Seen")).map(([, u]) =>
      u
    );
    if (unseen.length > 0) {
      const res = await backend.store(ctx.account, view.id, unseen, "add", ["\\Seen"]);
      view.record(res.updated);
    }
  }
  // Every response of a batch goes into one buffer: one write for many messages.
  const w = new ResponseWriter(ctx.encoding, 64 * 1024);
  for (const [seq, uid] of r.pairs) {
    let meta = view.metaAt(seq);
    if (meta?.uid !== uid) meta = view.meta(uid);
    if (!meta || vanished.has(uid)) continue;
    if (cmd.changedSince !== undefined && meta.modseq <= cmd.changedSince) continue;
    let content = undefined;
    if (need !== "none") {
      const c = backend.content(ctx.account, view.id, uid, need === "header");
      content = c instanceof Promise ? await c : c;
      if (!content) {
        missing = true;
        continue;
      }
    }
    let envelope: Uint8Array | undefined;
    if (need !== "all" && backend.envelope && items.some((i) => i.kind === "ENVELOPE")) {
      const e = backend.envelope(ctx.account, view.id, view.uidValidity, uid, utf8);
      envelope = e instanceof Promise ? await e : e;
      if (!envelope) {
        missing = true;
        continue;
      }
    }
    // `* n FETCH (name value …)`, written as it is made: no item list per message.
    w.ascii("* ");
    w.number(seq);
    w.ascii(" FETCH (");
    let flagsSent = false;
    let first = true;
    const name = (n: string) => {
      if (!first) w.byte(0x20);
      first = false;
      w.ascii(n);
    };
    for (const item of items) {
      switch (item.kind) {
        case "UID":
          name("UID ");
          w.number(uid);
          break;
        case "FLAGS":
          name("FLAGS ");
          w.item(flagsItem(meta.flags));
          flagsSent = true;
          break;
        case "INTERNALDATE":
          name("INTERNALDATE ");
          w.string(internalDate(meta.internalDate));
          break;
        case "RFC822.SIZE":
          name("RFC822.SIZE ");
          w.number(meta.size);
          break;
        case "MODSEQ":
          name("MODSEQ (");
          w.number(meta.modseq);
          w.byte(0x29);
          break;
        default: {
          if (item.kind === "ENVELOPE" && envelope) {
            name("ENVELOPE ");
            w.item({ encoded: envelope });
            break;
          }
          let pair;
          try {
            pair = contentItem(content!, item);
          } catch (e) {
            if (e instanceof UnknownEncodingError) return no(e.message, "UNKNOWN-CTE");
            throw e;
          }
          if (pair) {
            name("");
            w.item(pair[0]);
            w.byte(0x20);
            w.item(pair[1]);
          }
        }
      }
    }
    if (setsSeen && !flagsSent) {
      name("FLAGS ");
      w.item(flagItems(meta.flags));
    }
    w.byte(0x29);
    w.crlf();
    if (w.size >= FLUSH_BYTES) await ctx.flush([w.take()]);
  }
  if (w.size > 0) data.push(w.take());
  if (missing) {
    return {
      data,
      status: "NO",
      text: "Some messages no longer exist",
      code: { name: "EXPUNGEISSUED" },
      expungesAllowed: cmd.uid,
    };
  }
  return ok("FETCH completed", data, { expungesAllowed: cmd.uid });
}

/** STORE and UID STORE (RFC 9051 §6.4.6; RFC 7162 §3.1.3 UNCHANGEDSINCE). */
export async function store(ctx: SessionContext, cmd: CommandOf<"STORE">): Promise<Result> {
  const view = ctx.selected!;
  if (view.readOnly) return no("Mailbox is read-only", "READ-ONLY");
  const r = resolve(view, cmd.set, cmd.uid);
  if ("bad" in r) return no(r.bad, undefined, "BAD");
  const flags = validStoreFlags(cmd.flags);
  if (flags === undefined) return no("Invalid flag", undefined, "BAD");
  if (cmd.unchangedSince !== undefined) ctx.useCondstore();
  const uids = r.pairs.map(([, u]) => u);
  const res = await ctx.backend.store(
    ctx.account,
    view.id,
    uids,
    cmd.mode,
    flags,
    cmd.unchangedSince,
  );
  view.record(res.updated);
  const data: Uint8Array[][] = [];
  if (view.learnKeywords(res.updated)) {
    data.push(...flagsResponses(view.keywords, view.readOnly, ctx.encoding));
  }
  for (const m of res.updated) {
    const seq = view.seqOf(m.uid);
    if (seq === 0) continue;
    // .SILENT: no FLAGS back; under CONDSTORE the new MODSEQ is still sent (RFC 7162 §3.1.3).
    if (cmd.silent && !ctx.condstore) continue;
    const items: Item[] = [];
    if (cmd.uid) items.push(atom("UID"), num(m.uid));
    if (!cmd.silent) items.push(atom("FLAGS"), flagItems(m.flags));
    if (ctx.condstore) items.push(atom("MODSEQ"), list([num(m.modseq)]));
    data.push(fetchLine(ctx, seq, items));
  }
  if (res.modified.length > 0) {
    const numbers = cmd.uid
      ? res.modified
      : res.modified.map((u) => view.seqOf(u)).filter((s) => s > 0);
    return ok("Conditional STORE failed", data, {
      code: { name: "MODIFIED", args: [atom(formatSequenceSet(compactSet(numbers)))] },
      expungesAllowed: cmd.uid,
    });
  }
  return ok("STORE completed", data, { expungesAllowed: cmd.uid });
}

/** Header fields decoded for SEARCH: encoded words (RFC 2047) undone, 8-bit read as UTF-8. */
async function decodedHeaders(bytes: Uint8Array, start: number, end: number) {
  const { decodeWords } = await import("postal-mime");
  return parseHeader(bytes, start, end).map(([n, v]) => {
    const utf8 = Buffer.from(v, "latin1").toString("utf8");
    return [n, decodeWords(utf8.replace(/\r?\n/g, ""))] as const;
  });
}

/** SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES). */
export async function search(
  ctx: SessionContext,
  cmd: CommandOf<"SEARCH">,
  tag: string,
): Promise<Result> {
  const view = ctx.selected!;
  if (cmd.charset && !["UTF-8", "US-ASCII"].includes(cmd.charset)) {
    return {
      data: [],
      status: "NO",
      text: "Unsupported charset",
      code: { name: "BADCHARSET", args: [list([atom("UTF-8"), atom("US-ASCII")])] },
    };
  }
  const candidates: Candidate[] = view.uids.map((uid, i) => ({ seq: i + 1, meta: view.meta(uid)! }))
    .filter((c) => c.meta);
  const uids = candidates.map((c) => c.meta.uid);
  const textMatches = new Map<string, ReadonlySet<number>>();
  for (const term of textTerms(cmd.key)) {
    const found = await ctx.backend.searchText(ctx.account, view.id, uids, [term]);
    textMatches.set(textTermKey(term.where, term.value), new Set(found));
  }
  const headers = new Map<number, readonly (readonly [string, string])[]>();
  if (needsHeaders(cmd.key)) {
    for (const uid of uids) {
      const content = await ctx.backend.content(ctx.account, view.id, uid, true);
      if (content) {
        headers.set(
          uid,
          await decodedHeaders(
            content.bytes,
            content.structure.headerStart,
            content.structure.bodyStart,
          ),
        );
      }
    }
  }
  const ctxSearch = {
    maxSeq: view.exists,
    maxUid: view.maxUid,
    saved: view.saved,
    textMatches,
    headers: (u: number) => headers.get(u),
  };
  const found = candidates.filter((c) => matches(cmd.key, c, ctxSearch));
  const usesModseq = JSON.stringify(cmd.key).includes('"modseq"');
  if (usesModseq) ctx.useCondstore();
  const numbers = found.map((c) => cmd.uid ? c.meta.uid : c.seq);
  const highest = found.reduce((m, c) => Math.max(m, c.meta.modseq), 0);
  const returns = cmd.returns;
  if (returns?.includes("SAVE")) view.saved = found.map((c) => c.meta.uid);
  const data: Uint8Array[][] = [];
  if (returns !== undefined || ctx.rev2) {
    // ESEARCH (RFC 4731 §3.1): RETURN () means ALL; SAVE alone returns nothing.
    const opts = returns === undefined || returns.length === 0 ? ["ALL"] : returns;
    const onlySave = opts.length === 1 && opts[0] === "SAVE";
    if (!onlySave) {
      const items: Item[] = [list([atom("TAG"), str(tag)])];
      if (cmd.uid) items.push(atom("UID"));
      if (opts.includes("MIN") && numbers.length) {
        items.push(atom("MIN"), num(Math.min(...numbers)));
      }
      if (opts.includes("MAX") && numbers.length) {
        items.push(atom("MAX"), num(Math.max(...numbers)));
      }
      if (opts.includes("ALL") && numbers.length) {
        items.push(atom("ALL"), atom(formatSequenceSet(compactSet(numbers))));
      }
      if (opts.includes("COUNT")) items.push(atom("COUNT"), num(numbers.length));
      if (usesModseq && numbers.length) items.push(atom("MODSEQ"), num(highest));
      data.push(untagged([atom("ESEARCH"), ...items], ctx.encoding));
    }
  } else {
    const items: Item[] = [atom("SEARCH"), ...numbers.map((n) => num(n))];
    if (usesModseq && numbers.length) items.push(list([atom("MODSEQ"), num(highest)]));
    data.push(untagged(items, ctx.encoding));
  }
  return ok("SEARCH completed", data, { expungesAllowed: cmd.uid });
}

/** COPY and MOVE, by number or UID (RFC 9051 §6.4.7, RFC 6851, RFC 4315 COPYUID). */
export async function copyOrMove(
  ctx: SessionContext,
  cmd: CommandOf<"COPY" | "MOVE">,
): Promise<Result> {
  const view = ctx.selected!;
  const r = resolve(view, cmd.set, cmd.uid);
  if ("bad" in r) return no(r.bad, undefined, "BAD");
  const target = ctx.folderName(cmd.mailbox);
  const uids = r.pairs.map(([, u]) => u);
  if (uids.length === 0) return ok(`${cmd.name} completed`);
  if (cmd.name === "MOVE" && view.readOnly) return no("Mailbox is read-only", "READ-ONLY");
  const res = cmd.name === "MOVE"
    ? await ctx.backend.move(ctx.account, view.id, uids, target)
    : await ctx.backend.copy(ctx.account, view.id, uids, target);
  // Messages expunged meanwhile (still in this client's view) cannot be copied: say so, as
  // Dovecot does (RFC 5530 EXPUNGEISSUED); with none copied there is no COPYUID to give.
  if (res.sourceUids.length === 0) {
    return {
      ...no("Some of the requested messages no longer exist", "EXPUNGEISSUED"),
      expungesAllowed: cmd.uid,
    };
  }
  const code = {
    name: "COPYUID",
    args: [
      num(res.uidValidity),
      atom(formatSequenceSet(compactSet(res.sourceUids))),
      atom(formatSequenceSet(compactSet(res.targetUids))),
    ],
  };
  if (cmd.name === "MOVE") {
    // RFC 6851 §4.3: COPYUID comes untagged, before the expunges; the tagged OK follows them.
    return ok("MOVE completed", [untaggedStatus("OK", "Moved", code)], {
      refresh: true,
      expungesAllowed: true,
    });
  }
  // Like FETCH and STORE, COPY by number holds expunges back: the client's pipelined commands
  // may still use the numbers it knows (the reason of RFC 9051 §7.5.1).
  return ok("COPY completed", [], { code, expungesAllowed: cmd.uid });
}

/** EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1). */
export async function expunge(ctx: SessionContext, cmd: CommandOf<"EXPUNGE">): Promise<Result> {
  const view = ctx.selected!;
  if (view.readOnly) return no("Mailbox is read-only", "READ-ONLY");
  let uids = [...view.uids];
  if (cmd.uids) {
    const r = resolve(view, cmd.uids, true);
    if ("bad" in r) return no(r.bad, undefined, "BAD");
    uids = r.pairs.map(([, u]) => u);
  }
  await ctx.backend.expunge(ctx.account, view.id, uids);
  return ok("EXPUNGE completed", [], { refresh: true, expungesAllowed: true });
}

/** CLOSE (expunges \Deleted silently, RFC 9051 §6.4.1) and UNSELECT (RFC 3691). */
export async function close(
  ctx: SessionContext,
  cmd: CommandOf<"CLOSE" | "UNSELECT">,
): Promise<Result> {
  const view = ctx.selected!;
  if (cmd.name === "CLOSE" && !view.readOnly) {
    await ctx.backend.expunge(ctx.account, view.id, [...view.uids]);
  }
  ctx.select(undefined);
  return ok(`${cmd.name} completed`);
}

/** A message's metadata line for IDLE and command-end updates. */
export function updateFetch(ctx: SessionContext, seq: number, meta: MessageMeta): Uint8Array[] {
  const items: Item[] = [atom("UID"), num(meta.uid), atom("FLAGS"), flagItems(meta.flags)];
  if (ctx.condstore) items.push(atom("MODSEQ"), list([num(meta.modseq)]));
  return fetchLine(ctx, seq, items);
}
