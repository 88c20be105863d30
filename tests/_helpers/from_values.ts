/**
 * Random From: field values for the property tests of the From: address reader and its users:
 * address lists as RFC 5322 §3.4 writes them (display names of atoms, quoted strings, encoded
 * words and comments; addr-specs with dot-atom or quoted local parts, UTF-8 and literal
 * domains; folds), groups (RFC 6854), long lists, and garbage made of the same characters.
 *
 * @module
 */
import fc from "fast-check";

const pick = (s: string) => fc.constantFrom(...s.split(""));
const join = (a: fc.Arbitrary<string[]>, sep = "") => a.map((x) => x.join(sep));

/** Folding white space, and none. */
export const fws: fc.Arbitrary<string> = fc.constantFrom("", " ", "  ", "\t", "\r\n ", "\r\n\t");

const atom = join(
  fc.array(fc.oneof(pick("aZ09!#$%&'*+-/=?^_`{|}~"), fc.constantFrom("é", "中")), {
    minLength: 1,
    maxLength: 6,
  }),
);
const dotAtom = join(fc.array(atom, { minLength: 1, maxLength: 3 }), ".");

/**
 * The arbitraries; PLAIN leaves out what the signer's old reader misread: parentheses in quoted
 * strings and quoted-pairs in comments (RFC 5322 §3.2.2, §3.2.4).
 */
function values(plain: boolean) {
  const quoted = join(
    fc.array(
      fc.oneof(
        pick(plain ? " a@,;:<>[].é" : " a@,;:<>()[].é"),
        fc.constantFrom('\\"', "\\\\", "\\a", "\t"),
      ),
      { maxLength: 8 },
    ),
  ).map((s) => `"${s}"`);
  const ctext = fc.oneof(pick(' a@,;:<>".é'), fc.constantFrom(...plain ? ["a"] : ["\\)", "\\("]));
  const comment: fc.Arbitrary<string> = fc.oneof(
    join(fc.array(ctext, { maxLength: 6 })).map((s) => `(${s})`),
    fc.tuple(join(fc.array(ctext, { maxLength: 3 })), join(fc.array(ctext, { maxLength: 3 })))
      .map(([a, b]) => `(${a}(${b})x)`),
  );
  const encodedWord = fc.constantFrom(
    "=?utf-8?q?Zo=C3=AB?=",
    "=?UTF-8?B?Wm/Dqw==?=",
    "=?iso-8859-1?q?Andr=E9?=",
    "=?utf-8?q?a=40b=2Ec?=",
  );
  const label = join(fc.array(pick("aB0-éü"), { minLength: 1, maxLength: 6 }));
  const domain = fc.oneof(
    { weight: 4, arbitrary: join(fc.array(label, { minLength: 1, maxLength: 3 }), ".") },
    {
      weight: 1,
      arbitrary: fc.constantFrom("[192.0.2.1]", "bücher.de", "EXAMPLE.COM", "a.test.", "中国.cn"),
    },
  );
  const addrSpec = fc.tuple(fc.oneof({ weight: 4, arbitrary: dotAtom }, quoted), domain)
    .map(([l, d]) => `${l}@${d}`);
  const displayName = join(
    fc.array(fc.oneof({ weight: 3, arbitrary: atom }, quoted, encodedWord, comment), {
      minLength: 1,
      maxLength: 3,
    }),
    " ",
  );
  const opt = (a: fc.Arbitrary<string>) => fc.option(a, { nil: "" });
  const mailbox = fc.oneof(
    fc.tuple(addrSpec, opt(comment.map((c) => ` ${c}`))).map(([a, c]) => a + c),
    fc.tuple(opt(displayName), fws, addrSpec, opt(comment)).map(([n, w, a, c]) =>
      `${n}${w}<${a}>${c}`
    ),
  );
  const mailboxList = (max: number) =>
    fc.tuple(fc.array(mailbox, { minLength: 1, maxLength: max }), fws).map(([m, w]) =>
      m.join(`,${w}`)
    );
  const group = fc.tuple(displayName, opt(mailboxList(3)), opt(comment)).map(([n, l, c]) =>
    `${n}:${l};${c}`
  );
  return { mailboxList, group, mailbox };
}

const { mailboxList, group, mailbox } = values(false);

/** Mailbox lists without groups, and none of what the signer's old reader misread. */
export const plainMailboxListValue: fc.Arbitrary<string> = values(true).mailboxList(6);

/** Address lists, groups among them. */
export const addressListValue: fc.Arbitrary<string> = fc.tuple(
  fc.array(fc.oneof({ weight: 3, arbitrary: mailbox }, group), { minLength: 1, maxLength: 5 }),
  fws,
).map(([a, w]) => a.join(`,${w}`));

/** Garbage: the characters of addresses in any order. */
export const garbageValue: fc.Arbitrary<string> = join(
  fc.array(
    fc.oneof(
      pick(' a.@,;:<>()"\\[]'),
      fc.constantFrom("x.test", "é", "中", "=?", "?=", "\r\n ", "\t", "\0", "\x7f"),
    ),
    { maxLength: 40 },
  ),
);

/** Any From: value: lists, groups, long lists, garbage. */
export const fromValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: addressListValue },
  { weight: 1, arbitrary: mailboxList(60) },
  { weight: 3, arbitrary: garbageValue },
);

/** A From: field as header parsers give it: a Latin-1 "binary" string of its UTF-8 octets. */
export function fromField(value: string): string {
  let s = "";
  for (const b of new TextEncoder().encode(`From: ${value}`)) s += String.fromCharCode(b);
  return s;
}

/** From: fields whose octets need not be UTF-8 at all. */
export const rawFromField: fc.Arbitrary<string> = fc.oneof(
  fromValue.map(fromField),
  fc.uint8Array({ maxLength: 40 }).map((b) => "From: " + String.fromCharCode(...b)),
);
