/**
 * Facts about this build, shown by `mail --version`. A static module, so `deno compile` embeds
 * it like any other code: nothing is read at run time.
 *
 * The committed file says `undefined` (a run from the source tree, where `git log` tells the
 * commit). `deno task compile` and the release workflow build through tools/build_info.ts, which
 * writes the commit here for the duration of the build and then restores this file.
 *
 * @module
 */

/** The git commit the binary was built from, when known. */
export const COMMIT: string | undefined = undefined;
