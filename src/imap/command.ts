/**
 * IMAP commands (RFC 9051 §6, with the extensions the server offers), parsed from one framed
 * command into a typed value. Parsing knows the grammar only: whether a command is allowed in
 * the session's state, and what it does, is the session's business.
 *
 * @module
 */
import { Cursor, ImapParseError } from "./cursor.ts";
import { type FetchItem, parseFetchItems } from "./fetch_items.ts";
import { parseSearchKeys, type SearchKey } from "./search_key.ts";
import { parseSequenceSet, type SequenceSet, SequenceSetError } from "./sequence_set.ts";

/** LIST's RETURN options (RFC 5258 §3.2, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE). */
export interface ListReturn {
  readonly subscribed: boolean;
  readonly children: boolean;
  readonly specialUse: boolean;
  /** STATUS items to return with each listed mailbox (RFC 5819). */
  readonly status?: readonly StatusItem[];
}

/** STATUS items (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ, SIZE of RFC 9051). */
export type StatusItem =
  | "MESSAGES"
  | "UIDNEXT"
  | "UIDVALIDITY"
  | "UNSEEN"
  | "DELETED"
  | "SIZE"
  | "RECENT"
  | "HIGHESTMODSEQ";

const STATUS_ITEMS: readonly StatusItem[] = [
  "MESSAGES",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "DELETED",
  "SIZE",
  "RECENT",
  "HIGHESTMODSEQ",
];

/** ESEARCH RETURN options (RFC 4731, RFC 5182 SAVE). */
export type SearchReturn = "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE";

/** QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5). */
export interface Qresync {
  readonly uidValidity: number;
  readonly modseq: number;
  readonly knownUids?: SequenceSet;
  readonly seqMatch?: { readonly seqs: SequenceSet; readonly uids: SequenceSet };
}

/** A message of APPEND. */
export interface AppendMessage {
  readonly flags: readonly string[];
  readonly date?: Date;
  readonly bytes: Uint8Array;
  /** Sent as a literal8 (`~{n}`, RFC 3516): may hold NUL and any octets. */
  readonly binary: boolean;
}

/** A parsed command. `uid` marks the `UID` form of FETCH, SEARCH, STORE, COPY, MOVE, EXPUNGE. */
export type Command =
  | {
    readonly name:
      | "CAPABILITY"
      | "NOOP"
      | "LOGOUT"
      | "STARTTLS"
      | "NAMESPACE"
      | "IDLE"
      | "CLOSE"
      | "UNSELECT"
      | "CHECK";
  }
  | { readonly name: "ID"; readonly params: readonly (readonly [string, string | null])[] | null }
  | { readonly name: "AUTHENTICATE"; readonly mechanism: string; readonly initial?: string }
  | { readonly name: "LOGIN"; readonly user: string; readonly password: string }
  | { readonly name: "ENABLE"; readonly capabilities: readonly string[] }
  | {
    readonly name: "SELECT" | "EXAMINE";
    readonly mailbox: string;
    readonly condstore: boolean;
    readonly qresync?: Qresync;
  }
  | { readonly name: "CREATE"; readonly mailbox: string; readonly specialUse: readonly string[] }
  | { readonly name: "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE"; readonly mailbox: string }
  | { readonly name: "RENAME"; readonly from: string; readonly to: string }
  | {
    readonly name: "LIST";
    readonly reference: string;
    readonly patterns: readonly string[];
    /** LIST-EXTENDED selection options (RFC 5258 §3.1), upper-cased. */
    readonly selection: readonly string[];
    readonly returns: ListReturn;
    /** Whether the client used any extended syntax (its replies then follow RFC 5258). */
    readonly extended: boolean;
  }
  | { readonly name: "LSUB"; readonly reference: string; readonly pattern: string }
  | { readonly name: "STATUS"; readonly mailbox: string; readonly items: readonly StatusItem[] }
  | { readonly name: "APPEND"; readonly mailbox: string; readonly message: AppendMessage }
  | { readonly name: "EXPUNGE"; readonly uid: boolean; readonly uids?: SequenceSet }
  | {
    readonly name: "SEARCH";
    readonly uid: boolean;
    /** RETURN options; undefined when the client asked for a plain SEARCH reply. */
    readonly returns?: readonly SearchReturn[];
    readonly charset?: string;
    readonly key: SearchKey;
  }
  | {
    readonly name: "FETCH";
    readonly uid: boolean;
    readonly set: SequenceSet;
    readonly items: readonly FetchItem[];
    readonly changedSince?: number;
    readonly vanished: boolean;
  }
  | {
    readonly name: "STORE";
    readonly uid: boolean;
    readonly set: SequenceSet;
    readonly mode: "replace" | "add" | "remove";
    readonly silent: boolean;
    readonly flags: readonly string[];
    readonly unchangedSince?: number;
  }
  | {
    readonly name: "COPY" | "MOVE";
    readonly uid: boolean;
    readonly set: SequenceSet;
    readonly mailbox: string;
  };

/** A command that did not parse, with its tag when that much was readable. */
export class CommandError extends ImapParseError {
  readonly tag: string | undefined;
  constructor(message: string, tag: string | undefined) {
    super(message);
    this.tag = tag;
  }
}

/** The result of parsing one framed command. */
export interface Tagged {
  readonly tag: string;
  readonly command: Command;
}

/** Most names in one ENABLE, LIST pattern list, STATUS item list or flag list. */
const MAX_LIST = 100;

/** Parses one framed command (framer.ts); throws {@link CommandError}. */
export function parseCommand(bytes: Uint8Array): Tagged {
  const c = new Cursor(bytes);
  let tag: string | undefined;
  try {
    tag = c.tag();
    c.sp();
    let name = c.atom("a command name").toUpperCase();
    let uid = false;
    if (name === "UID") {
      uid = true;
      c.sp();
      name = c.atom("a command name").toUpperCase();
      if (!["FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE"].includes(name)) {
        throw new ImapParseError(`Unknown UID command: ${name}`);
      }
    }
    const command = parseArguments(c, name, uid);
    c.end();
    return { tag, command };
  } catch (e) {
    if (e instanceof CommandError) throw e;
    if (e instanceof ImapParseError) throw new CommandError(e.message, tag);
    if (e instanceof SequenceSetError) throw new CommandError(e.message, tag);
    throw e;
  }
}

function parseArguments(c: Cursor, name: string, uid: boolean): Command {
  switch (name) {
    case "CAPABILITY":
    case "NOOP":
    case "LOGOUT":
    case "STARTTLS":
    case "NAMESPACE":
    case "IDLE":
    case "CLOSE":
    case "UNSELECT":
    case "CHECK":
      return { name };
    case "ID":
      c.sp();
      return { name, params: parseId(c) };
    case "AUTHENTICATE": {
      c.sp();
      const mechanism = c.atom("a SASL mechanism").toUpperCase();
      // RFC 4959 SASL-IR: the initial response, base64 or `=` for an empty one.
      if (!c.takeSp()) return { name, mechanism };
      return { name, mechanism, initial: c.atom("an initial response") };
    }
    case "LOGIN": {
      c.sp();
      const user = c.astring("a user name");
      c.sp();
      return { name, user, password: c.astring("a password") };
    }
    case "ENABLE": {
      const capabilities: string[] = [];
      while (c.takeSp()) {
        capabilities.push(c.atom("a capability").toUpperCase());
        if (capabilities.length > MAX_LIST) throw new ImapParseError("Too many capabilities");
      }
      if (capabilities.length === 0) throw c.error("Expected a capability");
      return { name, capabilities };
    }
    case "SELECT":
    case "EXAMINE":
      c.sp();
      return { name, mailbox: c.astring("a mailbox name"), ...parseSelectParams(c) };
    case "CREATE": {
      c.sp();
      const mailbox = c.astring("a mailbox name");
      const specialUse: string[] = [];
      // RFC 6154 §3: CREATE name (USE (\Drafts ...)).
      if (c.takeSp()) {
        c.open();
        c.expect("USE");
        c.sp();
        specialUse.push(...c.list(() => c.flag(), false));
        c.close();
      }
      return { name, mailbox, specialUse };
    }
    case "DELETE":
    case "SUBSCRIBE":
    case "UNSUBSCRIBE":
      c.sp();
      return { name, mailbox: c.astring("a mailbox name") };
    case "RENAME": {
      c.sp();
      const from = c.astring("a mailbox name");
      c.sp();
      return { name, from, to: c.astring("a mailbox name") };
    }
    case "LIST":
      return parseList(c);
    case "LSUB": {
      c.sp();
      const reference = c.astring("a reference");
      c.sp();
      return { name, reference, pattern: c.listMailbox() };
    }
    case "STATUS": {
      c.sp();
      const mailbox = c.astring("a mailbox name");
      c.sp();
      return { name, mailbox, items: parseStatusItems(c) };
    }
    case "APPEND":
      return parseAppend(c);
    case "EXPUNGE":
      if (!uid) return { name, uid };
      c.sp();
      return { name, uid, uids: sequenceSet(c) };
    case "SEARCH":
      return parseSearch(c, uid);
    case "FETCH":
      return parseFetch(c, uid);
    case "STORE":
      return parseStore(c, uid);
    case "COPY":
    case "MOVE": {
      c.sp();
      const set = sequenceSet(c);
      c.sp();
      return { name, uid, set, mailbox: c.astring("a mailbox name") };
    }
  }
  throw new ImapParseError(`Unknown command: ${name}`);
}

function sequenceSet(c: Cursor): SequenceSet {
  return parseSequenceSet(c.sequenceSetText());
}

/** RFC 2971: `ID NIL` or `ID ("name" "value" ...)`, at most 30 pairs. */
function parseId(c: Cursor): [string, string | null][] | null {
  if (!c.atList()) {
    c.expect("NIL");
    return null;
  }
  const items = c.list(() => c.nstring());
  if (items.length % 2 !== 0) throw new ImapParseError("ID needs name and value pairs");
  if (items.length > 60) throw new ImapParseError("Too many ID fields");
  const pairs: [string, string | null][] = [];
  for (let i = 0; i < items.length; i += 2) {
    const key = items[i];
    if (key === null || key === undefined) throw new ImapParseError("ID field name is NIL");
    pairs.push([key, items[i + 1] ?? null]);
  }
  return pairs;
}

/** SELECT/EXAMINE parameters: `(CONDSTORE)`, `(QRESYNC (…))` (RFC 7162 §3.1.8, §3.2.5). */
function parseSelectParams(c: Cursor): { condstore: boolean; qresync?: Qresync } {
  if (!c.takeSp()) return { condstore: false };
  let condstore = false;
  let qresync: Qresync | undefined;
  c.open();
  for (let first = true; !c.atClose(); first = false) {
    if (!first) c.sp();
    const param = c.atom("a SELECT parameter").toUpperCase();
    if (param === "CONDSTORE") condstore = true;
    else if (param === "QRESYNC") {
      c.sp();
      c.open();
      const uidValidity = c.nzNumber("a UIDVALIDITY");
      c.sp();
      const modseq = c.nzNumber("a mod-sequence");
      let knownUids: SequenceSet | undefined;
      let seqMatch: Qresync["seqMatch"];
      if (c.takeSp()) {
        if (!c.atList()) knownUids = sequenceSet(c);
        if (knownUids === undefined || c.takeSp()) {
          c.open();
          const seqs = sequenceSet(c);
          c.sp();
          const uids = sequenceSet(c);
          c.close();
          seqMatch = { seqs, uids };
        }
      }
      c.close();
      qresync = {
        uidValidity,
        modseq,
        ...(knownUids ? { knownUids } : {}),
        ...(seqMatch ? { seqMatch } : {}),
      };
    } else throw new ImapParseError(`Unknown SELECT parameter: ${param}`);
  }
  c.close();
  return qresync ? { condstore: true, qresync } : { condstore };
}

/**
 * LIST (RFC 9051 §6.3.9 with RFC 5258 LIST-EXTENDED): `LIST [(selection)] reference
 * (pattern | (patterns)) [RETURN (options)]`.
 */
function parseList(c: Cursor): Command {
  c.sp();
  let extended = false;
  let selection: string[] = [];
  if (c.atList()) {
    extended = true;
    selection = c.list(() => c.atom("a selection option").toUpperCase());
    c.sp();
  }
  const reference = c.astring("a reference");
  c.sp();
  let patterns: string[];
  if (c.atList()) {
    extended = true;
    patterns = c.list(() => c.listMailbox(), false);
    if (patterns.length > MAX_LIST) throw new ImapParseError("Too many patterns");
  } else patterns = [c.listMailbox()];
  const returns = { subscribed: false, children: false, specialUse: false } as {
    subscribed: boolean;
    children: boolean;
    specialUse: boolean;
    status?: StatusItem[];
  };
  if (c.takeSp()) {
    c.expect("RETURN");
    c.sp();
    extended = true;
    c.open();
    for (let first = true; !c.atClose(); first = false) {
      if (!first) c.sp();
      const option = c.atom("a RETURN option").toUpperCase();
      if (option === "SUBSCRIBED") returns.subscribed = true;
      else if (option === "CHILDREN") returns.children = true;
      else if (option === "SPECIAL-USE") returns.specialUse = true;
      else if (option === "STATUS") {
        c.sp();
        returns.status = parseStatusItems(c);
      } else throw new ImapParseError(`Unknown LIST RETURN option: ${option}`);
    }
    c.close();
  }
  for (const s of selection) {
    if (!["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"].includes(s)) {
      throw new ImapParseError(`Unknown LIST selection option: ${s}`);
    }
  }
  // RFC 5258 §3.1: RECURSIVEMATCH needs another selection option to qualify.
  if (selection.includes("RECURSIVEMATCH") && selection.length === 1) {
    throw new ImapParseError("RECURSIVEMATCH needs another selection option");
  }
  return { name: "LIST", reference, patterns, selection, returns, extended };
}

function parseStatusItems(c: Cursor): StatusItem[] {
  const items = c.list(() => {
    const item = c.atom("a STATUS item").toUpperCase();
    const known = STATUS_ITEMS.find((s) => s === item);
    if (!known) throw new ImapParseError(`Unknown STATUS item: ${item}`);
    return known;
  }, false);
  if (items.length > MAX_LIST) throw new ImapParseError("Too many STATUS items");
  return items;
}

/** APPEND mailbox [(flags)] [date-time] literal (RFC 9051 §6.3.12; literal8 for BINARY). */
function parseAppend(c: Cursor): Command {
  c.sp();
  const mailbox = c.astring("a mailbox name");
  c.sp();
  let flags: string[] = [];
  if (c.atList()) {
    flags = c.list(() => c.flag());
    if (flags.length > MAX_LIST) throw new ImapParseError("Too many flags");
    c.sp();
  }
  let date: Date | undefined;
  if (c.peek() === 0x22) {
    date = c.dateTime();
    c.sp();
  }
  // RFC 6855 §4: `UTF8 (~{n}…)` carries a message with UTF-8 header fields.
  const utf8 = c.take("UTF8 (");
  if (!c.atLiteral()) throw c.error("Expected the message as a literal");
  const { bytes, binary } = c.literal();
  if (utf8) c.expect(")");
  return {
    name: "APPEND",
    mailbox,
    message: { flags, bytes, binary, ...(date ? { date } : {}) },
  };
}

/** SEARCH [RETURN (options)] [CHARSET name] criteria (RFC 9051 §6.4.4, RFC 4731). */
function parseSearch(c: Cursor, uid: boolean): Command {
  c.sp();
  let returns: SearchReturn[] | undefined;
  if (c.take("RETURN ")) {
    returns = c.list(() => {
      const o = c.atom("a RETURN option").toUpperCase();
      if (o !== "MIN" && o !== "MAX" && o !== "ALL" && o !== "COUNT" && o !== "SAVE") {
        throw new ImapParseError(`Unknown SEARCH RETURN option: ${o}`);
      }
      return o;
    });
    c.sp();
  }
  let charset: string | undefined;
  if (c.take("CHARSET ")) {
    charset = c.astring("a charset").toUpperCase();
    c.sp();
  }
  const key = parseSearchKeys(c);
  return {
    name: "SEARCH",
    uid,
    key,
    ...(returns ? { returns } : {}),
    ...(charset ? { charset } : {}),
  };
}

/** FETCH set items [(CHANGEDSINCE n [VANISHED])] (RFC 9051 §6.4.5, RFC 7162 §3.1.4, §3.2.6). */
function parseFetch(c: Cursor, uid: boolean): Command {
  c.sp();
  const set = sequenceSet(c);
  c.sp();
  const items = parseFetchItems(c);
  let changedSince: number | undefined;
  let vanished = false;
  if (c.takeSp()) {
    c.open();
    for (let first = true; !c.atClose(); first = false) {
      if (!first) c.sp();
      const modifier = c.atom("a FETCH modifier").toUpperCase();
      if (modifier === "CHANGEDSINCE") {
        c.sp();
        changedSince = c.nzNumber("a mod-sequence");
      } else if (modifier === "VANISHED") vanished = true;
      else throw new ImapParseError(`Unknown FETCH modifier: ${modifier}`);
    }
    c.close();
    // RFC 7162 §3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE.
    if (vanished && (!uid || changedSince === undefined)) {
      throw new ImapParseError("VANISHED needs UID FETCH with CHANGEDSINCE");
    }
  }
  return {
    name: "FETCH",
    uid,
    set,
    items,
    vanished,
    ...(changedSince !== undefined ? { changedSince } : {}),
  };
}

/** STORE set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] flags (RFC 9051 §6.4.6, RFC 7162). */
function parseStore(c: Cursor, uid: boolean): Command {
  c.sp();
  const set = sequenceSet(c);
  c.sp();
  let unchangedSince: number | undefined;
  if (c.atList()) {
    c.open();
    c.expect("UNCHANGEDSINCE");
    c.sp();
    unchangedSince = c.number("a mod-sequence");
    c.close();
    c.sp();
  }
  const item = c.atom("a STORE item").toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) throw new ImapParseError(`Unknown STORE item: ${item}`);
  c.sp();
  let flags: string[];
  if (c.atList()) flags = c.list(() => c.flag());
  else {
    flags = [c.flag()];
    while (c.takeSp()) flags.push(c.flag());
  }
  if (flags.length > MAX_LIST) throw new ImapParseError("Too many flags");
  return {
    name: "STORE",
    uid,
    set,
    mode: m[1] === "+" ? "add" : m[1] === "-" ? "remove" : "replace",
    silent: m[2] !== undefined,
    flags,
    ...(unchangedSince !== undefined ? { unchangedSince } : {}),
  };
}
