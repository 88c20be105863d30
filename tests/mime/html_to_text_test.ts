import assert from "node:assert/strict";
import fc from "fast-check";
import { Parser } from "htmlparser2";
import { CUT_NOTE, FLATTENED_NOTE, htmlToText } from "../../src/mime/html_to_text.ts";
import { boundHtml, MAX_DEPTH, MAX_HTML_CHARS } from "../../src/mime/html_limits.ts";

const CASES: [string, string, string][] = [
  ["paragraphs and headings", "<h1>Title</h1><p>One</p><p>Two</p>", "Title\n\nOne\n\nTwo"],
  [
    "inline elements flow",
    "<p>Your order has <em>shipped</em>  &amp;\n will <b>arrive</b>.</p>",
    "Your order has shipped & will arrive.",
  ],
  [
    "script, style, head dropped",
    "<head><title>T</title><style>p{}</style></head><body><script>x()</script>Hi</body>",
    "Hi",
  ],
  ["comments dropped", "a<!-- hidden -->b", "ab"],
  ["br", "one<br>two<br/><br />three", "one\ntwo\n\nthree"],
  ["unordered list", "<ul><li>apple</li><li>pear</li></ul>", "- apple\n- pear"],
  [
    "ordered list",
    "<p>Steps:</p><ol><li>first<li>second</ol>after",
    "Steps:\n\n 1. first\n 2. second\n\nafter",
  ],
  ["nested list", "<ul><li>a<ul><li>b</li></ul></li></ul>", "- a\n  - b"],
  [
    "link with text",
    '<a href="https://example.test/x">the site</a>',
    "the site <https://example.test/x>",
  ],
  [
    "link whose text is the url",
    '<a href="https://example.test/">https://example.test/</a>',
    "https://example.test/",
  ],
  ["link without text", '<a href="https://example.test/"></a>', "<https://example.test/>"],
  ["mailto link", '<a href="mailto:a@example.test?subject=x">write</a>', "write <a@example.test>"],
  ["fragment link", '<a href="#top">top</a>', "top"],
  ["javascript link", '<a href="javascript:alert(1)">click</a>', "click"],
  ["image alt", '<img src="x.png" alt="Logo"> text', "[Logo] text"],
  ["image without alt", '<img src="x.png"> text', "text"],
  ["table rows", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"],
  ["pre keeps lines", "<pre>  x = 1\n  y = 2</pre>", "x = 1\n  y = 2"],
  ["numeric references", "&#233;&#xE9;&#X1F600;", "éé😀"],
  ["unknown reference kept", "&bogus; &lt;tag&gt;", "&bogus; <tag>"],
  // The old table had 118 names; HTML has about 2,200 (HTML Living Standard §13.5).
  ["named references beyond the common ones", "&hellip;&Zcaron;&ccaron;&fjlig;&rarrw;", "…Žčfj↝"],
  ["nbsp becomes a space", "a&nbsp;b", "a b"],
  ["references without a semicolon (legacy names)", "AT&amp T &copy 2026", "AT& T © 2026"],
  ["invalid code points become U+FFFD", "&#0;&#xD800;&#x110000;", "\ufffd\ufffd\ufffd"],
  ["stray angle bracket", "1 < 2 and 3 > 2", "1 < 2 and 3 > 2"],
  ["unclosed script drops the rest", "shown<script>hidden", "shown"],
  ["hr", "a<hr>b", "a\n\n----\n\nb"],
];

for (const [name, html, expected] of CASES) {
  Deno.test(`htmlToText: ${name}`, () => {
    assert.equal(htmlToText(html), expected);
  });
}

/** The deepest the parser html-to-text uses gets on HTML (elements open at once). */
function parsedDepth(html: string): number {
  let depth = 0;
  let max = 0;
  new Parser({
    onopentagname: () => {
      max = Math.max(max, ++depth);
    },
    onclosetag: () => {
      depth--;
    },
  }, { decodeEntities: true }).end(html);
  return max;
}

const MiB = 1024 * 1024;

Deno.test("htmlToText: 4 MiB of '<a<a<a' returns, with a note that the rest is not shown", () => {
  const text = htmlToText("<a".repeat(2 * MiB));
  assert.equal(text, CUT_NOTE);
});

Deno.test("htmlToText: HTML longer than the bound is cut with a note, the start shown", () => {
  const text = htmlToText("<p>first words</p>" + "<p>more</p>".repeat(MAX_HTML_CHARS / 8));
  assert.ok(text.startsWith("first words\n\nmore\n\nmore"), text.slice(0, 80));
  assert.ok(text.endsWith(CUT_NOTE));
});

for (
  const [name, html] of [
    ["100,000 nested divs, closed", "<div>".repeat(100_000) + "deep" + "</div>".repeat(100_000)],
    ["100,000 nested divs, unclosed", "<div>".repeat(100_000) + "deep"],
    ["100,000 nested inline tags, unclosed", "<b><i>".repeat(50_000) + "deep"],
    ["100,000 nested blockquotes", "<blockquote>".repeat(100_000) + "deep"],
    ["100,000 nested lists", "<ul><li>".repeat(50_000) + "deep"],
    ["100,000 nested tables", "<table><tr><td>".repeat(33_000) + "deep"],
    ["100,000 nested svg", "<svg>".repeat(100_000) + "<p>deep"],
  ] as const
) {
  Deno.test(`htmlToText: ${name} returns the text and a note, without overflowing`, () => {
    const text = htmlToText(html);
    assert.match(text, /deep/);
    assert.ok(text.includes(FLATTENED_NOTE), text.slice(-200));
    assert.ok(text.length < 100_000, `${text.length} characters`);
  });
}

Deno.test("htmlToText: links inside links show the text once, not once per link", () => {
  const text = htmlToText('<a href="https://x.test/">'.repeat(10_000) + "go");
  assert.match(text, /^go <https:\/\/x\.test\/>/);
  assert.ok(text.endsWith(FLATTENED_NOTE));
});

Deno.test("htmlToText: raw-text elements past the depth bound keep their content out", () => {
  const text = htmlToText("<div>".repeat(MAX_DEPTH + 5) + "<script>" + "<div>x".repeat(1000));
  assert.doesNotMatch(text, /x/);
});

Deno.test("boundHtml: HTML within the bounds is returned as it is", () => {
  const html = "<div>".repeat(MAX_DEPTH - 1) + "x" + '<a href="y">z</a>';
  assert.deepEqual(boundHtml(html), { html, cut: false, flattened: false });
});

// The pieces of tag soup: openers that nest, void and raw-text elements, end tags that match
// and that do not, and the characters that change the tokenizer's state (quotes, `=`, `<`, `&`,
// comments), so that the bound is tried where a hand-written tag scanner would miscount.
const PIECES = [
  "<div>",
  "<DIV class='a>b'>",
  '<div title="</div>">',
  "</div>",
  "<p>",
  "</p>",
  "<li>",
  "<td>",
  "<tr>",
  "<table>",
  '<a href="x">',
  "</a>",
  "<b>",
  "</span>",
  "<br>",
  "</br>",
  "<img>",
  "<x/>",
  "<svg>",
  "<math>",
  "<script>",
  "</script>",
  "<style>",
  "<title>",
  "<textarea>",
  "</textarea>",
  "<xmp>",
  "<!--",
  "-->",
  "<!",
  "<?",
  "<",
  "</",
  ">",
  '"',
  "'",
  "=",
  "&amp",
  "&",
  " ",
  "text",
];

Deno.test("boundHtml: the parser never nests deeper than the bound (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...PIECES), { minLength: 0, maxLength: 1200 }),
      fc.integer({ min: 0, max: 400 }),
      (pieces, divs) => {
        const html = "<div>".repeat(divs) + pieces.join("");
        const bounded = boundHtml(html);
        // A raw-text element is never removed, and holds only text: at most one level more.
        assert.ok(parsedDepth(bounded.html) <= MAX_DEPTH + 1);
        // HTML that never reaches the bound passes as it is. (At the bound, a tag the parser
        // would not nest, such as a <td> that closes the one before, is dropped too.)
        if (parsedDepth(html) < MAX_DEPTH && !html.includes("<a")) {
          assert.equal(bounded.html, html);
        }
      },
    ),
    { numRuns: 300 },
  );
});
