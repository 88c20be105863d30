/**
 * The single executable: `mail --version`, nothing read from the source tree at run time, every
 * import one that `deno compile` embeds, and the module graph compiles with exactly the compile
 * task's arguments.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../../deno.json" with { type: "json" };
import { COMMIT } from "../../src/build_info.ts";
import { currentCommit, renderBuildInfo } from "../../tools/build_info.ts";
import { CONFIG, mail, MAIN } from "../_helpers/mail_process.ts";
import { withTempDir } from "./_helpers.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("mail --version prints deno.json's version, and the commit when stamped", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await mail([flag]);
    assert.equal(r.code, 0, r.err);
    const want = COMMIT ? `${denoJson.version} (commit ${COMMIT})` : denoJson.version;
    assert.equal(r.out, `${want}\n`);
  }
});

Deno.test("tools/build_info.ts stamps a commit that main.ts can import", async () => {
  const original = await Deno.readTextFile(join(ROOT, "src/build_info.ts"));
  assert.match(original, /^export const COMMIT: string \| undefined = undefined;$/m);
  await withTempDir(async (dir) => {
    const file = join(dir, "build_info.ts");
    await Deno.writeTextFile(file, renderBuildInfo(original, "0123456789ab"));
    const stamped = await import(new URL(`file://${file}`).href);
    assert.equal(stamped.COMMIT, "0123456789ab");
  });
  assert.equal(renderBuildInfo(renderBuildInfo(original, "abc"), undefined), original);
  assert.equal(
    await currentCommit((n) => (n === "GITHUB_SHA" ? "f".repeat(40) : undefined)),
    "f".repeat(12),
  );
  assert.equal(
    await currentCommit((n) => (n === "MAIL_BUILD_COMMIT" ? "v1-local" : undefined)),
    "v1-local",
  );
});

/** Every .ts file of the program (what `deno compile` embeds), relative to the root. */
async function programFiles(): Promise<string[]> {
  const out = ["main.ts"];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts")) out.push(path);
    }
  };
  await walk("src");
  return out;
}

Deno.test("no run-time reads of source-tree files, and every import names its module literally", async () => {
  const forbidden: [RegExp, string][] = [
    [/import\.meta\.(url|dirname|filename|resolve)/, "a path relative to the source tree"],
    [/new URL\([^)]*import\.meta/, "a URL relative to the source tree"],
    [/Deno\.(readTextFile|readFile|open)(Sync)?\(\s*new URL\(/, "a file read by URL"],
    // deno compile embeds a dynamic import whose specifier is a string literal, not another.
    [/[^\w.]import\s*\(\s*[^"'\s]/, "a dynamic import of a computed specifier"],
    [/\brequire\s*\(/, "require()"],
    [/\bfromFileUrl\b|\bfileURLToPath\b/, "a module path turned into a file path"],
  ];
  // The one exception: the stand-ins' installer finds the module of a dependency of mailauth
  // (Joi, libmime; the static graph embeds them) to take its place, and loads it if asked for
  // more; if either fails in a binary, mailauth loads the module itself.
  const allowed: [string, string][] = [
    ["src/checks/stand_in.ts", "a path relative to the source tree"],
    ["src/checks/stand_in.ts", "require()"],
  ];
  const problems: string[] = [];
  for (const file of await programFiles()) {
    const lines = (await Deno.readTextFile(join(ROOT, file))).split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\*|\/\/)/.test(line)) return; // comments
      for (const [re, what] of forbidden) {
        if (allowed.some(([f, w]) => f === file && w === what)) continue;
        if (re.test(line)) problems.push(`${file}:${i + 1}: ${what}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(problems, []);
});

Deno.test({
  name: "deno compile, with the compile task's arguments, builds the whole graph",
  // The binary itself needs Deno's denort download; DENORT_BIN=<deno> builds the payload
  // (type check, module graph, npm packages) without it. The output does not run: deleted.
  async fn() {
    const task = denoJson.tasks.compile;
    const args = task.slice(task.indexOf(" compile ") + 1).split(" ");
    assert.equal(args[0], "compile");
    const at = args.indexOf("--output");
    assert.ok(at > 0 && args.at(-1) === "main.ts", task);
    await withTempDir(async (dir) => {
      args[at + 1] = join(dir, "mail");
      args[args.length - 1] = MAIN;
      args.splice(1, 0, "--config", CONFIG);
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.ok(out.success, `${relative(ROOT, MAIN)}: deno ${args.join(" ")}\n${text}`);
      assert.ok((await Deno.stat(join(dir, "mail"))).size > 0);
    });
  },
});
