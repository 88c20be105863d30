/**
 * Folder commands (RFC 9051 §6.3): SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, LIST (with RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE),
 * LSUB, NAMESPACE, STATUS and APPEND (RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT).
 *
 * @module
 */
import { DELIMITER, type FolderStatus, ImapBackendError, type SpecialUse } from "./backend.ts";
import type { StatusItem } from "./command.ts";
import { matchesPattern, validFolderName } from "./folder_names.ts";
import {
  astr,
  atom,
  type Item,
  list,
  NIL,
  num,
  str,
  untagged,
  untaggedStatus,
} from "./response.ts";
import { SelectedView } from "./selected.ts";
import { type CommandOf, no, ok, type Result, type SessionContext } from "./session_context.ts";
import { compactSet, formatSequenceSet } from "./sequence_set.ts";
import { flagItems, flagsResponses, validStoreFlags } from "./flags.ts";

const SPECIAL_USES = ["\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", "\\All", "\\Flagged"];

/** SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3; RFC 7162 §3.1.8, §3.2.5). */
export async function select(
  ctx: SessionContext,
  cmd: CommandOf<"SELECT" | "EXAMINE">,
): Promise<Result> {
  const data: Uint8Array[][] = [];
  const enc = ctx.encoding;
  // RFC 7162 §3.2.5: QRESYNC parameters only after ENABLE QRESYNC.
  if (cmd.qresync && !ctx.qresync) {
    return { data, status: "BAD", text: "QRESYNC needs ENABLE QRESYNC first" };
  }
  if (ctx.selected) {
    ctx.select(undefined);
    // RFC 9051 §7.1: CLOSED says the previous folder is closed (QRESYNC and rev2 clients).
    if (ctx.rev2 || ctx.condstore) {
      data.push(untaggedStatus("OK", "Previous mailbox closed", { name: "CLOSED" }));
    }
  }
  if (cmd.condstore) ctx.useCondstore();
  const name = ctx.folderName(cmd.mailbox);
  let folder;
  try {
    folder = await ctx.backend.open(ctx.account, name);
  } catch (e) {
    // The previous folder is closed either way (RFC 9051 §6.3.2): CLOSED, then the refusal.
    if (e instanceof ImapBackendError) {
      return { data, status: "NO", text: e.message, code: { name: e.code } };
    }
    throw e;
  }
  const readOnly = cmd.name === "EXAMINE";
  const view = new SelectedView(folder, name, readOnly);
  data.push(...flagsResponses(folder.keywords, readOnly, enc));
  data.push(untagged([num(view.exists), atom("EXISTS")], enc));
  if (!ctx.rev2) {
    data.push(untagged([num(0), atom("RECENT")], enc));
    const firstUnseen = folder.list.findIndex((m) => !m.flags.includes("\\Seen"));
    if (firstUnseen >= 0) {
      data.push(
        untaggedStatus("OK", "First unseen", { name: "UNSEEN", args: [num(firstUnseen + 1)] }),
      );
    }
  }
  data.push(
    untaggedStatus("OK", "UIDs valid", { name: "UIDVALIDITY", args: [num(view.uidValidity)] }),
  );
  data.push(
    untaggedStatus("OK", "Predicted next UID", { name: "UIDNEXT", args: [num(view.uidNext)] }),
  );
  if (ctx.condstore) {
    data.push(
      untaggedStatus("OK", "Highest", { name: "HIGHESTMODSEQ", args: [num(view.highestModseq)] }),
    );
  }
  if (ctx.rev2) {
    // RFC 9051 §6.3.2: a LIST of the folder, its attributes accurate.
    const folders = await ctx.backend.folders(ctx.account);
    const info = folders.find((f) => f.name === name);
    const attrs = [
      atom(
        folders.some((f) => f.name.startsWith(name + DELIMITER))
          ? "\\HasChildren"
          : "\\HasNoChildren",
      ),
      ...(info?.specialUse ? [atom(info.specialUse)] : []),
    ];
    data.push(untagged([atom("LIST"), list(attrs), str(DELIMITER), astr(ctx.wireName(name))], enc));
  }
  if (cmd.qresync && cmd.qresync.uidValidity === view.uidValidity) {
    // RFC 7162 §3.2.5.1: what changed since the client's mod-sequence, without its asking.
    const changes = await ctx.backend.changes(ctx.account, view.id, cmd.qresync.modseq);
    if (changes.expunged.length > 0) {
      data.push(
        untagged([
          atom("VANISHED"),
          list([atom("EARLIER")]),
          atom(formatSequenceSet(compactSet(changes.expunged))),
        ], enc),
      );
    }
    for (const m of changes.changed) {
      const seq = view.seqOf(m.uid);
      if (seq === 0) continue;
      data.push(
        untagged([
          num(seq),
          atom("FETCH"),
          list([
            atom("UID"),
            num(m.uid),
            atom("FLAGS"),
            flagItems(m.flags),
            atom("MODSEQ"),
            list([num(m.modseq)]),
          ]),
        ], enc),
      );
    }
  }
  ctx.select(view);
  return ok(`${cmd.name} completed`, data, {
    code: { name: readOnly ? "READ-ONLY" : "READ-WRITE" },
  });
}

/** CREATE (RFC 9051 §6.3.4; RFC 6154 §3 USE). Superior names are created as needed. */
export async function create(ctx: SessionContext, cmd: CommandOf<"CREATE">): Promise<Result> {
  let name = ctx.folderName(cmd.mailbox);
  // RFC 9051 §6.3.4: a trailing delimiter only says that children are intended.
  if (name.endsWith(DELIMITER)) name = name.slice(0, -1);
  if (name.toUpperCase() === "INBOX") return no("INBOX exists already", "ALREADYEXISTS");
  if (!validFolderName(name)) return no("Invalid folder name", "CANNOT");
  const use = cmd.specialUse.find((u) =>
    SPECIAL_USES.some((s) => s.toLowerCase() === u.toLowerCase())
  );
  if (cmd.specialUse.length > 0 && (!use || cmd.specialUse.length > 1)) {
    return no("Unsupported special use", "USEATTR");
  }
  const existing = new Set((await ctx.backend.folders(ctx.account)).map((f) => f.name));
  if (existing.has(name)) return no("Folder exists already", "ALREADYEXISTS");
  const levels = name.split(DELIMITER);
  for (let i = 1; i < levels.length; i++) {
    const parent = levels.slice(0, i).join(DELIMITER);
    if (!existing.has(parent)) await ctx.backend.createFolder(ctx.account, parent);
  }
  const canonical = use
    ? SPECIAL_USES.find((s) => s.toLowerCase() === use.toLowerCase()) as SpecialUse
    : undefined;
  await ctx.backend.createFolder(ctx.account, name, canonical);
  return ok("CREATE completed");
}

/** DELETE (RFC 9051 §6.3.5): never INBOX; a folder with children is refused, as Dovecot does. */
export async function del(ctx: SessionContext, cmd: CommandOf<"DELETE">): Promise<Result> {
  const name = ctx.folderName(cmd.mailbox);
  if (name === "INBOX") return no("INBOX cannot be deleted", "CANNOT");
  const folders = await ctx.backend.folders(ctx.account);
  if (!folders.some((f) => f.name === name)) return no("No such folder", "NONEXISTENT");
  if (folders.some((f) => f.name.startsWith(name + DELIMITER))) {
    return no("Folder has children, delete them first", "HASCHILDREN");
  }
  await ctx.backend.deleteFolder(ctx.account, name);
  if (ctx.selected?.name !== name) return ok("DELETE completed");
  // Deleting the selected folder closes it: say so (RFC 9051 §7.1 CLOSED) rather than leave
  // the client with a view of nothing.
  ctx.select(undefined);
  return ok("DELETE completed", [untaggedStatus("OK", "Mailbox closed", { name: "CLOSED" })]);
}

/** RENAME (RFC 9051 §6.3.6); INBOX's messages move and INBOX stays. */
export async function rename(ctx: SessionContext, cmd: CommandOf<"RENAME">): Promise<Result> {
  const from = ctx.folderName(cmd.from);
  const to = ctx.folderName(cmd.to);
  if (to === "INBOX") return no("INBOX exists already", "ALREADYEXISTS");
  if (!validFolderName(to)) return no("Invalid folder name", "CANNOT");
  if (to.startsWith(from + DELIMITER)) return no("Cannot rename a folder into itself", "CANNOT");
  await ctx.backend.renameFolder(ctx.account, from, to);
  // Renaming the selected INBOX empties it: the answer carries the expunges (RFC 9051 §6.3.6).
  return ok("RENAME completed", [], { refresh: true });
}

/**
 * Names one account may keep subscribed. SUBSCRIBE needs a folder, but a deleted or renamed
 * folder's subscription stays: without a bound, CREATE, SUBSCRIBE and DELETE in a loop would
 * grow the list for ever.
 */
export const MAX_SUBSCRIPTIONS = 10_000;

/**
 * SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8). Subscribing to a folder that does not
 * exist is refused, as Dovecot does (the RFC lets a server validate the name); a subscription
 * outlives its folder's DELETE or RENAME (the server must not remove it unilaterally), and
 * UNSUBSCRIBE of any name succeeds.
 */
export async function subscribe(
  ctx: SessionContext,
  cmd: CommandOf<"SUBSCRIBE" | "UNSUBSCRIBE">,
): Promise<Result> {
  const name = ctx.folderName(cmd.mailbox);
  if (cmd.name === "SUBSCRIBE") {
    if (!(await ctx.backend.folders(ctx.account)).some((f) => f.name === name)) {
      return no("Mailbox doesn't exist", "NONEXISTENT");
    }
    const subscribed = await ctx.backend.subscriptions(ctx.account);
    if (subscribed.length >= MAX_SUBSCRIPTIONS && !subscribed.includes(name)) {
      return no("Too many subscriptions", "LIMIT");
    }
  }
  await ctx.backend.subscribe(ctx.account, name, cmd.name === "SUBSCRIBE");
  return ok(`${cmd.name} completed`);
}

/** NAMESPACE (RFC 2342): one personal namespace with `/`. */
export function namespace(ctx: SessionContext): Result {
  const personal = list([list([str(""), str(DELIMITER)])]);
  return ok("NAMESPACE completed", [
    untagged([atom("NAMESPACE"), personal, NIL, NIL], ctx.encoding),
  ]);
}

function statusItems(status: FolderStatus, items: readonly StatusItem[]): Item[] {
  const out: Item[] = [];
  for (const item of items) {
    const value = {
      MESSAGES: status.messages,
      UIDNEXT: status.uidNext,
      UIDVALIDITY: status.uidValidity,
      UNSEEN: status.unseen,
      DELETED: status.deleted,
      SIZE: status.size,
      RECENT: 0,
      HIGHESTMODSEQ: status.highestModseq,
    }[item];
    out.push(atom(item), num(value));
  }
  return out;
}

/** STATUS (RFC 9051 §6.3.11). */
export async function status(ctx: SessionContext, cmd: CommandOf<"STATUS">): Promise<Result> {
  const name = ctx.folderName(cmd.mailbox);
  if (cmd.items.includes("HIGHESTMODSEQ")) ctx.useCondstore();
  const s = await ctx.backend.status(ctx.account, name);
  return ok("STATUS completed", [
    untagged(
      [atom("STATUS"), astr(ctx.wireName(name)), list(statusItems(s, cmd.items))],
      ctx.encoding,
    ),
  ]);
}

/** One line of a LIST or LSUB answer. */
interface Listed {
  readonly name: string;
  readonly attrs: readonly Item[];
  /** RFC 5258 §3.5: a subscribed name is below it. */
  readonly childInfo: boolean;
  /** It is a folder (so RETURN (STATUS) reports it). */
  readonly exists: boolean;
}

/** The names above NAME: `a` and `a/b` for `a/b/c`. */
function superiors(name: string): string[] {
  const levels = name.split(DELIMITER);
  return levels.slice(1).map((_, i) => levels.slice(0, i + 1).join(DELIMITER));
}

/**
 * LIST and LSUB (RFC 9051 §6.3.9, RFC 3501 §6.3.9, RFC 5258, RFC 5819, RFC 6154). Subscribed
 * names are listed whether they are folders or not, as Dovecot 2.3 lists them: LIST (SUBSCRIBED)
 * with \NonExistent (RFC 5258 §3.1), LSUB with \Noselect. A name above a subscribed one that the
 * pattern does not name itself is listed for it: by LIST (SUBSCRIBED RECURSIVEMATCH) with
 * CHILDINFO (RFC 5258 §3.5), and by LSUB with \Noselect when the pattern ends with `%` (RFC 3501
 * §6.3.9: LSUB "" % shows `foo` when only `foo/bar` is subscribed).
 */
export async function listFolders(
  ctx: SessionContext,
  cmd: CommandOf<"LIST" | "LSUB">,
): Promise<Result> {
  const enc = ctx.encoding;
  const lsub = cmd.name === "LSUB";
  const patterns = cmd.name === "LSUB" ? [cmd.pattern] : cmd.patterns;
  const reference = ctx.folderName(cmd.reference);
  // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
  if (cmd.name === "LIST" && patterns.length === 1 && patterns[0] === "") {
    return ok("LIST completed", [
      untagged([atom("LIST"), list([atom("\\Noselect")]), str(DELIMITER), str("")], enc),
    ]);
  }
  const folders = await ctx.backend.folders(ctx.account);
  const selection = cmd.name === "LIST" ? cmd.selection : ["SUBSCRIBED"];
  const subscribedOnly = selection.includes("SUBSCRIBED");
  const specialOnly = selection.includes("SPECIAL-USE");
  const returns = cmd.name === "LIST"
    ? cmd.returns
    : { subscribed: true, children: false, specialUse: false };
  const names = patterns.map((p) => ctx.folderName(p)).map((p) =>
    reference && !p.startsWith(reference) ? reference + p : p
  );
  const matches = (name: string) =>
    names.some((p) =>
      matchesPattern(name, p, DELIMITER) ||
      // INBOX matches case-insensitively.
      (name === "INBOX" &&
        matchesPattern(
          "INBOX",
          p.toUpperCase().startsWith("INBOX") ? "INBOX" + p.slice(5) : p,
          DELIMITER,
        ))
    );
  const byName = new Map(folders.map((f) => [f.name, f]));
  const subscribed = new Set(
    subscribedOnly || returns.subscribed ? await ctx.backend.subscriptions(ctx.account) : [],
  );
  // Names with a folder below them; names with a subscribed name below them, and which.
  const parents = new Set(folders.flatMap((f) => superiors(f.name)));
  const below = new Map<string, string[]>();
  for (const name of subscribed) {
    for (const up of superiors(name)) {
      const under = below.get(up);
      if (under) under.push(name);
      else below.set(up, [name]);
    }
  }
  const children = (name: string) => atom(parents.has(name) ? "\\HasChildren" : "\\HasNoChildren");
  // RFC 5258 §3.1 RECURSIVEMATCH: a name that is not subscribed is listed too when one below
  // it is, with CHILDINFO saying so.
  const recursive = subscribedOnly && !lsub && selection.includes("RECURSIVEMATCH");
  const listed: Listed[] = [];
  const candidates = subscribedOnly ? new Set([...subscribed, ...below.keys()]) : byName.keys();
  for (const name of candidates) {
    if (!matches(name)) continue;
    const f = byName.get(name);
    if (specialOnly && !f?.specialUse) continue;
    const subscribedBelow = below.get(name) ?? [];
    if (subscribedOnly && !subscribed.has(name)) {
      // Listed only for a subscribed name below it that the pattern does not name itself.
      if (!subscribedBelow.some((d) => !matches(d))) continue;
      if (lsub) {
        if (!names[0]!.endsWith("%")) continue;
        listed.push({ name, attrs: [atom("\\Noselect")], childInfo: false, exists: false });
      } else if (recursive) {
        // No attributes of its own, as Dovecot answers, unless it is no folder at all.
        const attrs = f ? [] : [atom("\\NonExistent")];
        listed.push({ name, attrs, childInfo: true, exists: false });
      }
      continue;
    }
    const attrs: Item[] = [];
    if (f) {
      attrs.push(children(name));
      if (f.specialUse && !lsub) attrs.push(atom(f.specialUse));
    } else if (lsub) {
      // RFC 3501 has no \NonExistent: \Noselect says the same to an LSUB client.
      attrs.push(atom("\\Noselect"));
    } else {
      if (returns.children || parents.has(name)) attrs.push(children(name));
      attrs.push(atom("\\NonExistent"));
    }
    if ((returns.subscribed || subscribedOnly) && subscribed.has(name)) {
      attrs.push(atom("\\Subscribed"));
    }
    listed.push({
      name,
      attrs,
      childInfo: recursive && subscribedBelow.length > 0,
      exists: f !== undefined,
    });
  }
  listed.sort((a, b) =>
    a.name === "INBOX"
      ? -1
      : b.name === "INBOX"
      ? 1
      : a.name < b.name
      ? -1
      : a.name > b.name
      ? 1
      : 0
  );
  const data: Uint8Array[][] = [];
  for (const entry of listed) {
    const extra = entry.childInfo ? [list([str("CHILDINFO"), list([str("SUBSCRIBED")])])] : [];
    data.push(
      untagged(
        [
          atom(cmd.name),
          list(entry.attrs),
          str(DELIMITER),
          astr(ctx.wireName(entry.name)),
          ...extra,
        ],
        enc,
      ),
    );
    if (cmd.name === "LIST" && cmd.returns.status && entry.exists) {
      // RFC 5819: STATUS follows each LIST of a selectable folder; errors are not reported.
      try {
        const s = await ctx.backend.status(ctx.account, entry.name);
        data.push(
          untagged([
            atom("STATUS"),
            astr(ctx.wireName(entry.name)),
            list(statusItems(s, cmd.returns.status)),
          ], enc),
        );
      } catch (e) {
        if (!(e instanceof ImapBackendError)) throw e;
      }
    }
  }
  return ok(`${cmd.name} completed`, data);
}

/** APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT). */
export async function append(ctx: SessionContext, cmd: CommandOf<"APPEND">): Promise<Result> {
  const name = ctx.folderName(cmd.mailbox);
  const { message } = cmd;
  if (message.bytes.length > ctx.maxMessageSize) return no("Message too large", "TOOBIG");
  if (message.bytes.length === 0) return no("Empty message", "CANNOT", "NO");
  const flags = validStoreFlags(message.flags);
  if (flags === undefined) return no("Invalid flag", undefined, "BAD");
  const r = await ctx.backend.append(
    ctx.account,
    name,
    message.bytes,
    flags,
    message.date ?? new Date(),
  );
  return ok("APPEND completed", [], {
    code: { name: "APPENDUID", args: [num(r.uidValidity), num(r.uid)] },
    refresh: true,
    expungesAllowed: true,
  });
}
