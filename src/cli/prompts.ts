/**
 * The terminal prompts (`@inquirer/prompts`), loaded only by a command that prompts. Loaded at
 * start-up, the library and its dependencies took 4 MiB of heap in every `mail serve` process,
 * which never prompts.
 *
 * @module
 */
export type Prompts = typeof import("@inquirer/prompts");

/** Loads the prompt library (once; later calls get the same module). */
export function prompts(): Promise<Prompts> {
  return import("@inquirer/prompts");
}
