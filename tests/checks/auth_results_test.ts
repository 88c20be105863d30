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
