/**
 * DKIM signing (RFC 6376, RFC 8463): keys on disk, the records to publish, and the signer of
 * `mail serve`.
 *
 * @module
 */
export {
  type BrokenKey,
  defaultSelector,
  type DkimAlgorithm,
  type DkimKey,
  DkimKeyError,
  type DkimKeyInfo,
  generateKey,
  keyDir,
  loadKeys,
  normalizeDomain,
  normalizeSelector,
  publicKeyData,
  recordText,
  removeKey,
  RSA_BITS,
  zoneLine,
} from "./keys.ts";
export {
  dkimSignatures,
  MAX_INSTANCES,
  OVERSIGNED_FIELDS,
  SIGNED_FIELDS,
  type SigningKey,
} from "./sign.ts";
export {
  DkimSigner,
  DkimStage,
  fromDomains,
  insertFields,
  KeyRing,
  RELOAD_CHECK_MS,
  type SignableMessage,
  type StageContext,
} from "./signer.ts";
export { checkRecord, type RecordStatus } from "./record_check.ts";
