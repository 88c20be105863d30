/**
 * The real Joi, as mailauth loads it. Imported before anything that loads the checks, so that
 * the stand-in (src/checks/joi_stand_in.ts) finds Joi already loaded and stays out of the way
 * in the test's own process.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.resolve("mailauth/lib/tools.js"));

/** Joi itself. */
// deno-lint-ignore no-explicit-any
export const realJoi: any = require("joi");

/** Where Joi's module is: its key in the CommonJS module cache. */
export const joiPath: string = require.resolve("joi");
