import assert from "node:assert/strict";

/**
 * `mail serve` must not load mailauth before the first message is checked: main.ts imports every
 * command at start-up, so mailauth must be reached from it only through a dynamic import.
 */
interface ModuleInfo {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

async function staticGraph(entry: string): Promise<Set<string>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: ModuleInfo[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    for (const dep of bySpecifier.get(resolved)?.dependencies ?? []) {
      if (dep.code !== undefined && dep.isDynamic !== true) todo.push(dep.code.specifier);
    }
  }
  return seen;
}

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
