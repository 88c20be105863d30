/**
 * A stand-in for Joi, put where mailauth will look for it before mailauth is loaded.
 *
 * mailauth loads Joi, a schema library, for two checks: the domain SPF is asked about
 * (`Joi.string().domain({ allowUnicode: false, tlds: false })`) and the base64 of a DKIM key
 * (`Joi.string().base64({ paddingRequired: false })`). Loading Joi makes `mail serve` about
 * 5 MiB larger from the first message on (docs/performance.md). This module makes those two
 * checks, with Joi's rules and answers (the domain rules are those of @hapi/address, which Joi
 * calls; the pattern is Joi's; a test compares both with Joi itself), and registers them in
 * the CommonJS module cache under Joi's path (`stand_in.ts`), so mailauth's `require("joi")`
 * finds them. Anything else asked of it is handed to the real Joi, loaded then: a mailauth that
 * uses more of Joi gets Joi. Where the module cache cannot be reached, mailauth loads Joi as
 * usual.
 *
 * @module
 */
import { installStandIn, memberOf } from "./stand_in.ts";

/** What `schema.validate` gives: the value, and an error when it does not pass. */
interface Validation {
  readonly value: unknown;
  readonly error?: Error;
}

/** Joi's answer for VALUE under a string schema whose rule is RULE (named MESSAGE). */
function validateString(value: unknown, rule: (s: string) => boolean, message: string) {
  // Joi: undefined is allowed unless the schema is required(); other non-strings are not.
  if (value === undefined) return { value };
  if (typeof value !== "string") return { value, error: new Error('"value" must be a string') };
  if (value === "") return { value, error: new Error('"value" is not allowed to be empty') };
  return rule(value) ? { value } : { value, error: new Error(`"value" ${message}`) };
}

/** RFC 1035 §2.3.1 labels, as @hapi/address checks them (the last one starts with a letter). */
const SEGMENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const TLD_SEGMENT = /^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x20@:/\\#!$&'()*+,;=?]/;
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Whether DOMAIN passes `Joi.string().domain({ allowUnicode: false, tlds: false })`: ASCII, at
 * most 256 characters, no separators, two labels or more of 1 to 63 characters, no final dot.
 */
export function joiDomain(domain: string): boolean {
  if (domain.length > 256 || NON_ASCII.test(domain) || CONTROL.test(domain)) return false;
  const labels = domain.split(".");
  if (labels.length < 2) return false;
  return labels.every((label, i) =>
    label.length > 0 && label.length <= 63 &&
    (i < labels.length - 1 ? SEGMENT : TLD_SEGMENT).test(label)
  );
}

/** Joi's pattern for `base64({ paddingRequired: false })`. */
const BASE64 =
  /^(?:[A-Za-z0-9+/]{2}[A-Za-z0-9+/]{2})*(?:[A-Za-z0-9+/]{2}(==)?|[A-Za-z0-9+/]{3}=?)?$/;

type Joi = Record<string | symbol, unknown>;

/**
 * The stand-in: `string().domain(...)` and `string().base64(...)` with the options mailauth
 * gives them are answered here; anything else (another rule, other options, another type) is
 * handed to the real Joi, which LOAD loads then.
 */
export function joiStandIn(load: () => Joi): Joi {
  // deno-lint-ignore no-explicit-any
  const real = () => load() as any;
  const string = () => {
    const rules = {
      domain(options?: { allowUnicode?: boolean; tlds?: boolean }) {
        if (options?.allowUnicode !== false || options?.tlds !== false) {
          return real().string().domain(options);
        }
        return {
          validate: (v: unknown): Validation =>
            validateString(v, joiDomain, "must contain a valid domain name"),
        };
      },
      base64(options?: { paddingRequired?: boolean }) {
        if (options?.paddingRequired !== false || Object.keys(options).length !== 1) {
          return real().string().base64(options);
        }
        return {
          validate: (v: unknown): Validation =>
            validateString(v, (s) => BASE64.test(s), "must be a valid base64 string"),
        };
      },
    };
    return new Proxy(rules, {
      get: (target, prop) =>
        prop in target ? target[prop as keyof typeof rules] : memberOf(real().string(), prop),
    });
  };
  return new Proxy({ string } as Joi, {
    get: (target, prop) => (prop === "string" ? target.string : memberOf(real(), prop)),
  });
}

installStandIn<Joi>("joi", joiStandIn);
