import assert from "node:assert/strict";
import { htmlToText } from "../../src/mime/html_to_text.ts";
import { decodeEntities } from "../../src/mime/html_entities.ts";

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
    "Steps:\n\n1. first\n2. second\n\nafter",
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
  ["mailto link", '<a href="mailto:a@example.test?subject=x">write</a>', "write <a@example.test>"],
  ["fragment link", '<a href="#top">top</a>', "top"],
  ["image alt", '<img src="x.png" alt="Logo"> text', "[Logo] text"],
  ["table rows", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"],
  ["pre keeps lines", "<pre>  x = 1\n  y = 2</pre>", "x = 1\n  y = 2"],
  ["numeric entities", "&#233;&#xE9;&#X1F600;", "éé😀"],
  ["unknown entity kept", "&bogus; &lt;tag&gt;", "&bogus; <tag>"],
  ["nbsp becomes a space", "a&nbsp;b", "a b"],
  ["stray angle bracket", "1 < 2 and 3 > 2", "1 < 2 and 3 > 2"],
  ["unclosed script drops the rest", "shown<script>hidden", "shown"],
  ["hr", "a<hr>b", "a\n----\nb"],
];

for (const [name, html, expected] of CASES) {
  Deno.test(`htmlToText: ${name}`, () => {
    assert.equal(htmlToText(html), expected);
  });
}

Deno.test("decodeEntities: invalid code points become U+FFFD", () => {
  assert.equal(decodeEntities("&#0;&#xD800;&#x110000;"), "\ufffd\ufffd\ufffd");
});
