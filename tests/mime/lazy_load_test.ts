import assert from "node:assert/strict";
import { staticGraph } from "../_helpers/static_graph.ts";

/**
 * `mail serve` must not load the libraries that only reading mail needs. Every command module is
 * imported by main.ts at start-up, so the modules main.ts reaches through static imports are the
 * ones every command, serve included, loads; the reader's libraries must be reached only through
 * a dynamic import.
 */
const READER_ONLY = [
  /npm:\/?postal-mime@/,
  /npm:\/?html-to-text@/,
  /npm:\/?htmlparser2@/,
  /npm:\/?string-width@/,
  /\/src\/mime\/reader\.ts$/,
  /\/src\/mime\/display\.ts$/,
  /\/src\/mime\/html_to_text\.ts$/,
];

Deno.test("lazy loading: main.ts reaches no MIME, HTML or text-width library statically", async () => {
  const graph = await staticGraph("main.ts");
  assert.ok([...graph].some((s) => s.endsWith("/src/mime/mod.ts")), "the walk reached mime");
  assert.ok([...graph].some((s) => s.endsWith("/src/mime/summary.ts")));
  for (const s of graph) {
    for (const pattern of READER_ONLY) assert.doesNotMatch(s, pattern);
  }
});

Deno.test("lazy loading: the reader does bring its libraries", async () => {
  const graph = await staticGraph("src/mime/reader.ts");
  for (const name of ["postal-mime", "string-width"]) {
    assert.ok([...graph].some((s) => s.includes(`npm:${name}@`) || s.includes(`npm:/${name}@`)));
  }
});
