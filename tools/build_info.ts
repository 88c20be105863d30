/**
 * Builds with the commit stamped into src/build_info.ts: writes the commit there, runs
 * `deno ARGS...` (e.g. `compile -P=mail --output mail main.ts`), and restores the file however
 * that ends, so the working tree stays clean.
 *
 * The commit is `$MAIL_BUILD_COMMIT`, else `$GITHUB_SHA`, else `git rev-parse HEAD` (with
 * `-dirty` when the tree has uncommitted changes), shortened to 12 hex digits.
 *
 *     deno run --allow-run --allow-read --allow-env --allow-write=src/build_info.ts \
 *       tools/build_info.ts compile -P=mail --output mail main.ts
 *
 * @module
 */

const FILE = new URL("../src/build_info.ts", import.meta.url);

/** The text of src/build_info.ts for COMMIT. */
export function renderBuildInfo(original: string, commit: string | undefined): string {
  const line = /^export const COMMIT: string \| undefined = .*;$/m;
  if (!line.test(original)) throw new Error("src/build_info.ts has no COMMIT line to stamp");
  const value = commit === undefined ? "undefined" : JSON.stringify(commit);
  return original.replace(line, `export const COMMIT: string | undefined = ${value};`);
}

async function git(args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", {
      args,
      cwd: new URL("..", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined; // no git, or not a checkout
  }
}

/** The commit to stamp, or undefined when it cannot be known. */
export async function currentCommit(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<string | undefined> {
  const given = env("MAIL_BUILD_COMMIT") || env("GITHUB_SHA");
  if (given) return /^[0-9a-f]{13,}$/i.test(given) ? given.slice(0, 12) : given;
  const head = await git(["rev-parse", "--short=12", "HEAD"]);
  if (head === undefined) return undefined;
  const status = await git(["status", "--porcelain", "--untracked-files=no"]);
  return status ? `${head}-dirty` : head;
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: tools/build_info.ts DENO-ARGS... (e.g. compile -P=mail main.ts)");
    Deno.exit(64);
  }
  const commit = await currentCommit();
  const original = await Deno.readTextFile(FILE);
  let code = 1;
  try {
    await Deno.writeTextFile(FILE, renderBuildInfo(original, commit));
    console.error(`build_info: commit ${commit ?? "unknown"}`);
    const child = new Deno.Command(Deno.execPath(), { args: Deno.args }).spawn();
    // Restore the file even if the build is interrupted.
    const forward = () => child.kill("SIGINT");
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGINT", forward);
    code = (await child.status).code;
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGINT", forward);
  } finally {
    await Deno.writeTextFile(FILE, original);
  }
  Deno.exit(code);
}
