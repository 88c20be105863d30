import assert from "node:assert/strict";

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

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface ModuleInfo {
  specifier: string;
  dependencies?: Dependency[];
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
