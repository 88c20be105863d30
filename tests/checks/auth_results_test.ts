import assert from "node:assert/strict";
import fc from "fast-check";
import {
  authResultsField,
  authservIdOf,
  formatResinfo,
  parts,
  propertyValue,
  type Resinfo,
} from "../../src/checks/auth_results.ts";

Deno.test("authserv-id: a token or quoted-string after CFWS, lower-cased (RFC 8601 §2.2)", () => {
  const table: [string, string | undefined][] = [
    [" mx.local.test; spf=pass", "mx.local.test"],
    [" MX.Local.Test;spf=pass", "mx.local.test"],
    [" (comment (nested) \\) here) mx.local.test; none", "mx.local.test"],
    ['\t"mx.local.test"; none', "mx.local.test"],
    [' "mx.\\"odd"; none', 'mx."odd'],
    [" mx.local.test 1; dkim=pass", "mx.local.test"],
    [" mx.local.test(c); none", "mx.local.test"],
    [" ", undefined],
    [" (unclosed mx.local.test; none", undefined],
    [' "unclosed', undefined],
    ["; none", undefined],
  ];
  for (const [value, id] of table) assert.equal(authservIdOf(value), id, value);
});

Deno.test("resinfo: keywords, escaped comments, properties as token or quoted-string", () => {
  assert.equal(
    formatResinfo({
      method: "spf",
      result: "pass",
      comment: "a (b) \\ c\r\nd",
      props: [["smtp.mailfrom", "ann@example.com"]],
    }),
    "spf=pass (a \\(b\\) \\\\ c d) smtp.mailfrom=ann@example.com",
  );
  assert.equal(
    formatResinfo({ method: "dkim", result: "fail", props: [["header.i", "@example.com"]] }),
    "dkim=fail header.i=@example.com",
  );
  assert.equal(propertyValue('"odd local"@example.com'), '"\\"odd local\\"@example.com"');
  assert.equal(propertyValue("a;b"), '"a;b"');
  assert.equal(propertyValue(""), undefined);
  assert.equal(propertyValue("x".repeat(600)), undefined);
  assert.equal(propertyValue('"'.repeat(300)), undefined);
  assert.equal(
    formatResinfo({ method: "dmarc", result: "pass;x=1" }),
    "dmarc=passx1",
  );
});

Deno.test("the field: one result a line, `none` when there are none", () => {
  assert.equal(
    authResultsField("mx.local.test", []),
    "Authentication-Results: mx.local.test; none\r\n",
  );
  assert.equal(
    authResultsField("mx.local.test", [
      { method: "spf", result: "pass", props: [["smtp.mailfrom", "a@b.example"]] },
      { method: "dmarc", result: "fail" },
    ]),
    "Authentication-Results: mx.local.test;\r\n\tspf=pass smtp.mailfrom=a@b.example;\r\n\tdmarc=fail\r\n",
  );
});

Deno.test("property: whatever the results hold, the field is one well-formed field of ours", () => {
  const text = fc.string({ unit: "binary", maxLength: 600 });
  fc.assert(
    fc.property(
      fc.array(fc.record({ method: text, result: text, comment: text, value: text }), {
        maxLength: 8,
      }),
      (rows) => {
        const field = authResultsField(
          "mx.local.test",
          rows.map((r) => ({
            ...r,
            props: ["header.from", "header.d", "header.i", "smtp.mailfrom"].map(
              (name) => [name, r.value] as const,
            ),
          })),
        );
        assert.ok(field.endsWith("\r\n"));
        const lines = field.slice(0, -2).split("\r\n");
        // Every line but the first continues the field; no bare CR or LF anywhere.
        for (const line of lines.slice(1)) assert.equal(line[0], "\t");
        for (const line of lines) {
          assert.doesNotMatch(line, /[\r\n]/);
          assert.ok(new TextEncoder().encode(line).length <= 998);
        }
        assert.equal(authservIdOf(field.slice(field.indexOf(":") + 1)), "mx.local.test");
      },
    ),
  );
});

/** The field as it was first written (results mapped to lines, words joined): to compare. */
function referenceField(authservId: string, results: Resinfo[]): string {
  const id = propertyValue(authservId) ?? "localhost";
  if (results.length === 0) return `Authentication-Results: ${id}; none\r\n`;
  const octets = (s: string) => new TextEncoder().encode(s).length;
  const lines = results.map((r) => {
    let out = "";
    let line = 8;
    for (const part of parts(r).flatMap((p) => (p.startsWith("(") ? p.split(" ") : [p]))) {
      const n = octets(part);
      if (out !== "" && line + 1 + n + 1 > 78) {
        out += "\r\n\t";
        line = 8;
      } else if (out !== "") {
        out += " ";
        line++;
      }
      out += part;
      line += n;
    }
    return out;
  });
  return `Authentication-Results: ${id};\r\n\t${lines.join(";\r\n\t")}\r\n`;
}

Deno.test("property: the field is folded exactly as the plain algorithm folds it", () => {
  const text = fc.string({
    unit: fc.constantFrom(..."ab (x)\\é✓ .@-", "long-word-".repeat(8)),
    maxLength: 120,
  });
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          method: text,
          result: text,
          comment: fc.option(text, { nil: undefined }),
          props: fc.array(fc.tuple(fc.constantFrom("smtp.mailfrom", "header.d", "x y"), text), {
            maxLength: 3,
          }),
        }),
        { maxLength: 6 },
      ),
      (rows) => {
        assert.equal(
          authResultsField("mx.local.test", rows),
          referenceField("mx.local.test", rows),
        );
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("the field: folded at 78 characters, comments between words, values never", () => {
  const field = authResultsField("mx.local.test", [{
    method: "spf",
    result: "pass",
    comment: "mx.local.test: domain of someone.with.a.long.name@example.com designates " +
      "2001:db8::1234:5678 as permitted sender",
    props: [["smtp.mailfrom", "someone.with.a.long.name@example.com"], ["x.y", "a b c"]],
  }]);
  const lines = field.slice(0, -2).split("\r\n");
  assert.ok(lines.length > 2);
  for (const line of lines) assert.ok(line.length <= 78, line);
  assert.match(
    field,
    /\tsmtp\.mailfrom=someone\.with\.a\.long\.name@example\.com x\.y="a b c"\r\n$/,
  );
  // Unfolded, it is the one-line form.
  assert.equal(
    field.replace(/\r\n\t/g, " ").replace(/^[^;]*; /, "").trim(),
    formatResinfo({
      method: "spf",
      result: "pass",
      comment: "mx.local.test: domain of someone.with.a.long.name@example.com designates " +
        "2001:db8::1234:5678 as permitted sender",
      props: [["smtp.mailfrom", "someone.with.a.long.name@example.com"], ["x.y", "a b c"]],
    }),
  );
});

/** The parts as they were before their fast paths, kept verbatim to compare with. */
function partsBefore(r: Resinfo): string[] {
  const keyword = (s: string) => s.replace(/[^A-Za-z0-9-]/g, "").slice(0, 64) || "none";
  const comment = (text: string) => {
    // deno-lint-ignore no-control-regex
    let clean = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
    if (clean.length > 200) clean = `${clean.slice(0, 200)}...`;
    return `(${clean.replace(/[()\\]/g, (c) => `\\${c}`)})`;
  };
  const out = [`${keyword(r.method)}=${keyword(r.result)}`];
  if (r.comment) out.push(comment(r.comment));
  for (const [name, value] of r.props ?? []) {
    const v = propertyValue(value);
    if (v !== undefined && /^[A-Za-z0-9-]{1,64}\.[A-Za-z0-9-]{1,64}$/.test(name)) {
      out.push(`${name}=${v}`);
    }
  }
  return out;
}

Deno.test("property: keywords, comments and property names read as before their fast paths", () => {
  // Mostly what passes as it is, with what does not: controls, parentheses, edges, lengths.
  const text = (max: number) =>
    fc.array(
      fc.constantFrom("a", "Z", "9", "-", ".", " ", "\t", "(", ")", "\\", "\x01", "é", "@"),
      {
        maxLength: max,
      },
    ).map((cs) => cs.join(""));
  fc.assert(
    fc.property(
      fc.record({
        method: text(70),
        result: text(70),
        comment: fc.option(text(220), { nil: undefined }),
        names: fc.array(text(140), { maxLength: 3 }),
        value: text(20),
      }),
      ({ names, value, ...r }) => {
        const resinfo: Resinfo = { ...r, props: names.map((n) => [n, value] as const) };
        assert.deepEqual(parts(resinfo), partsBefore(resinfo));
      },
    ),
    { numRuns: 3000 },
  );
});
