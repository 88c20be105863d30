import assert from "node:assert/strict";
import { staticGraph } from "../_helpers/static_graph.ts";

/**
 * `mail serve` must not load mailauth before the first message is checked: main.ts imports every
 * command at start-up, so mailauth must be reached from it only through a dynamic import.
 */

const MAILAUTH = /npm:\/?mailauth@|\/src\/checks\/verify\.ts$/;

Deno.test("lazy loading: main.ts reaches the checks but not mailauth statically", async () => {
  const graph = [...await staticGraph("main.ts")];
  assert.ok(graph.some((s) => s.endsWith("/src/checks/stage.ts")), "the walk reached the checks");
  for (const s of graph) assert.doesNotMatch(s, MAILAUTH);
});

Deno.test("lazy loading: the checks' verifier does bring mailauth", async () => {
  const graph = [...await staticGraph("src/checks/verify.ts")];
  assert.ok(graph.some((s) => /npm:\/?mailauth@/.test(s)));
});
