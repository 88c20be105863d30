import assert from "node:assert/strict";
import { fit, textWidth, truncate } from "../../src/mime/text_width.ts";

const WIDTHS: [string, string, number][] = [
  ["ASCII", "hello", 5],
  ["CJK ideographs are wide", "会議", 4],
  ["combining mark takes no column", "e\u0301", 1],
  ["zero-width space", "a\u200bb", 2],
  // Emoji below U+1F300 that are wide (Emoji_Presentation, UAX #11 "W").
  ["hot beverage U+2615", "☕", 2],
  ["watch U+231A", "⌚", 2],
  ["high voltage U+26A1", "⚡", 2],
  ["heart with VS16 (emoji presentation)", "❤️", 2],
  // ZWJ sequences and modifiers are one glyph, two columns.
  ["family ZWJ sequence", "👨‍👩‍👧", 2],
  ["rainbow flag ZWJ sequence", "🏳️‍🌈", 2],
  ["skin tone modifier", "👍🏽", 2],
  ["regional indicator flag", "🇩🇪", 2],
  ["text-presentation symbol stays narrow", "✂", 1],
];

for (const [name, text, width] of WIDTHS) {
  Deno.test(`textWidth: ${name}`, () => {
    assert.equal(textWidth(text), width);
  });
}

Deno.test("truncate: cuts by columns and never inside a grapheme cluster", () => {
  assert.equal(truncate("hello", 10), "hello");
  assert.equal(truncate("hello world", 6), "hello…");
  assert.equal(truncate("会議の議事録", 5), "会議…");
  assert.equal(truncate("ab👨‍👩‍👧cd", 4), "ab…");
  assert.equal(truncate("ab👨‍👩‍👧cd", 5), "ab👨‍👩‍👧…");
  assert.equal(truncate("☕☕☕", 4), "☕…");
  assert.equal(truncate("x", 0), "");
});

Deno.test("fit: pads to exactly the width, counting wide characters as two", () => {
  for (const text of ["☕ coffee", "👨‍👩‍👧 family", "会議の議事録です", "plain"]) {
    for (const width of [3, 6, 9, 20]) assert.equal(textWidth(fit(text, width)), width);
  }
});
