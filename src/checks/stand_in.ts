/**
 * Puts a stand-in for one of mailauth's dependencies where mailauth's `require()` will find it,
 * before mailauth is loaded: its entry in the CommonJS module cache. A stand-in answers the few
 * calls mailauth makes itself and hands anything else to the real module, which it loads then
 * (the real module takes the stand-in's place in the cache, for every later `require()`). So
 * `mail serve` does not carry a whole library for one or two of its functions.
 *
 * @module
 */
import { createRequire } from "node:module";

/**
 * Registers the exports MAKE_EXPORTS builds as the module PACKAGE_NAME, as mailauth resolves
 * it; MAKE_EXPORTS gets a function that loads the real module (once) when called. Returns
 * whether it did: false when the module is loaded already or the cache cannot be reached (in a
 * binary, say), and then mailauth loads the real module, as it would without this.
 */
export function installStandIn<T>(
  packageName: string,
  makeExports: (load: () => T) => unknown,
): boolean {
  try {
    const require = createRequire(import.meta.resolve("mailauth/lib/tools.js"));
    const path = require.resolve(packageName);
    const cache = require.cache as Record<string, unknown>;
    if (cache[path] !== undefined) return false;
    let loaded: { value: T } | undefined;
    const load = () => {
      if (loaded === undefined) {
        delete cache[path];
        loaded = { value: require(path) as T };
      }
      return loaded.value;
    };
    const exports = makeExports(load);
    // `standIn` tells the tests this entry from the real module's.
    cache[path] = {
      id: path,
      filename: path,
      loaded: true,
      exports,
      children: [],
      paths: [],
      standIn: true,
    };
    return true;
  } catch {
    return false;
  }
}

/** OBJECT's member PROP (a method bound to OBJECT): what a stand-in hands on to the real module. */
// deno-lint-ignore no-explicit-any
export function memberOf(object: any, prop: string | symbol): unknown {
  const value = object[prop];
  return typeof value === "function" ? value.bind(object) : value;
}
