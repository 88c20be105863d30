/**
 * The `Authentication-Results:` header field (RFC 8601): reading the authserv-id of one that
 * came with a message (to remove those that claim to be ours, §5), and writing ours.
 *
 * @module
 */

/** One result of one method (RFC 8601 §2.2 resinfo): `spf=pass (comment) smtp.mailfrom=x`. */
export interface Resinfo {
  /** `spf`, `dkim`, `arc`, `dmarc`. */
  readonly method: string;
  /** A result keyword (§2.7): `pass`, `fail`, `temperror`... */
  readonly result: string;
  readonly comment?: string | undefined;
  /** Properties as `[ptype.property, value]`: `["smtp.mailfrom", "example.com"]`. */
  readonly props?: readonly (readonly [string, string])[];
}

/** Longest comment kept; the rest is cut (the results matter, not the prose). */
const MAX_COMMENT = 200;
/** Longest property value kept; a longer one is left out (as mailauth does). */
const MAX_VALUE = 500;

/**
 * The authserv-id of an Authentication-Results VALUE (the text after the colon), lower-case, or
 * undefined if it has none. RFC 8601 §2.2: the value begins with CFWS, then the authserv-id, a
 * token or a quoted-string (§2.5).
 */
export function authservIdOf(value: string): string | undefined {
  let i = skipCfws(value, 0);
  if (i < 0 || i >= value.length) return undefined;
  if (value[i] === '"') {
    let out = "";
    for (i++; i < value.length; i++) {
      const c = value[i]!;
      if (c === "\\") out += value[++i] ?? "";
      else if (c === '"') return out.toLowerCase();
      else out += c;
    }
    return undefined;
  }
  const m = /^[^\s;()"]+/.exec(value.slice(i));
  return m ? m[0].toLowerCase() : undefined;
}

/** Where the text after white space and comments starting at I begins; -1 if a comment is open. */
function skipCfws(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (depth > 0) {
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
    } else if (c === "(") {
      depth = 1;
    } else if (c !== " " && c !== "\t" && c !== "\r" && c !== "\n") {
      return i;
    }
  }
  return depth > 0 ? -1 : i;
}

/** Whether every character of S passes OK (one pass, no pattern: most values pass). */
function all(s: string, ok: (c: number) => boolean): boolean {
  for (let i = 0; i < s.length; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}

/** Text a comment holds as it is: no control characters, parentheses or backslash. */
const commentChar = (c: number) =>
  c >= 0x20 && c !== 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x5c;
/** Keyword characters (§2.2): letters, digits, hyphen. */
const keywordChar = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;

/** A comment's text (RFC 5322 §3.2.2): no control characters, parentheses and backslash quoted. */
function comment(text: string): string {
  const ends = (c: number) => c !== 0x20 && c !== 0x09;
  if (
    text.length <= MAX_COMMENT && all(text, commentChar) && ends(text.charCodeAt(0)) &&
    ends(text.charCodeAt(text.length - 1))
  ) {
    return `(${text})`;
  }
  // deno-lint-ignore no-control-regex
  let clean = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  if (clean.length > MAX_COMMENT) clean = `${clean.slice(0, MAX_COMMENT)}...`;
  return `(${clean.replace(/[()\\]/g, (c) => `\\${c}`)})`;
}

/**
 * A property value (§2.2 pvalue): as it is when it is a dot-atom or `local@domain` made of atom
 * characters (RFC 5322 §3.2.3), else a quoted-string; undefined when empty or too long to keep.
 */
export function propertyValue(value: string): string | undefined {
  // deno-lint-ignore no-control-regex
  const clean = value.replace(/[\x00-\x1f\x7f]/g, "");
  // Too long to keep however it is written (quoting only adds): not looked at further.
  if (clean === "" || clean.length > MAX_VALUE) return undefined;
  // The local part's characters are among the domain's, so `local@` is optional as a whole:
  // written `X*@?Y+`, a run of them with a bad character after it was tried at every split.
  const out =
    /^(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]*@)?[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\[\]:]+$/.test(clean)
      ? clean
      : `"${clean.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return byteLength(out) > MAX_VALUE ? undefined : out;
}

/** A result keyword or method name (§2.2 Keyword), bounded. */
function keyword(s: string): string {
  if (s.length > 0 && s.length <= 64 && all(s, keywordChar)) return s;
  return s.replace(/[^A-Za-z0-9-]/g, "").slice(0, 64) || "none";
}

/** The parts of one resinfo: `method=result`, `(comment)`, `ptype.prop=value`... */
export function parts(r: Resinfo): string[] {
  const out = [`${keyword(r.method)}=${keyword(r.result)}`];
  if (r.comment) out.push(comment(r.comment));
  for (const [name, value] of r.props ?? []) {
    const v = propertyValue(value);
    if (v !== undefined && propertyName(name)) {
      out.push(`${name}=${v}`);
    }
  }
  return out;
}

/** Whether NAME is `ptype.property` (§2.2), each a keyword of at most 64 characters. */
function propertyName(name: string): boolean {
  const dot = name.indexOf(".");
  return dot >= 1 && dot <= 64 && name.length - dot - 1 >= 1 && name.length - dot - 1 <= 64 &&
    all(name.slice(0, dot), keywordChar) && all(name.slice(dot + 1), keywordChar);
}

/** One resinfo on one line: `method=result (comment) ptype.prop=value...`. */
export function formatResinfo(r: Resinfo): string {
  return parts(r).join(" ");
}

/** Where a line is folded: RFC 5322 §2.1.1's 78 characters (a longer word stays whole). */
const FOLD_AT = 78;

/**
 * The whole field with CRLF at the end: our AUTHSERVID, then each result on a line of its own
 * (folded where it would grow too long), or `none` when nothing was checked (§2.2 no-result).
 */
export function authResultsField(authservId: string, results: readonly Resinfo[]): string {
  const id = propertyValue(authservId) ?? "localhost";
  if (results.length === 0) return `Authentication-Results: ${id}; none\r\n`;
  let out = `Authentication-Results: ${id};`;
  let line = 0;
  let first = true;
  /** One word of a result: after a space, or on a new line when it would not fit. */
  const put = (word: string, octets: number) => {
    // Room for the separating space, and for the ";" that may follow.
    if (!first && line + 1 + octets + 1 > FOLD_AT) {
      out += "\r\n\t";
      line = 8;
    } else if (!first) {
      out += " ";
      line++;
    }
    out += word;
    line += octets;
    first = false;
  };
  for (let r = 0; r < results.length; r++) {
    out += r === 0 ? "\r\n\t" : ";\r\n\t";
    line = 8; // the tab
    first = true;
    for (const part of parts(results[r]!)) {
      const ascii = ASCII.test(part);
      // A comment may be folded between its words; a value never is.
      if (part.startsWith("(")) {
        for (const word of part.split(" ")) put(word, ascii ? word.length : byteLength(word));
      } else {
        put(part, ascii ? part.length : byteLength(part));
      }
    }
  }
  return `${out}\r\n`;
}

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

const encoder = new TextEncoder();

function byteLength(s: string): number {
  return ASCII.test(s) ? s.length : encoder.encode(s).length;
}
