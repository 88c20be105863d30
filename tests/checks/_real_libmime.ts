/**
 * The real libmime, as mailauth loads it. Imported before anything that loads the checks, so
 * that the stand-in (src/checks/libmime_stand_in.ts) finds libmime already loaded and stays out
 * of the way in the test's own process.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.resolve("mailauth/lib/tools.js"));

/** libmime itself. */
// deno-lint-ignore no-explicit-any
export const realLibmime: any = require("libmime");
