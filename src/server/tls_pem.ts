/**
 * PEM, the textual encoding of certificates and keys (RFC 7468): writing one block, and finding
 * the blocks in a file.
 *
 * @module
 */

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** PEM with base64 lines of 64 characters (RFC 7468 §2). */
export function toPem(label: string, bytes: Uint8Array): string {
  const lines = base64(bytes).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`) and its text. */
export interface PemBlock {
  label: string;
  text: string;
}

/** The PEM blocks in TEXT, in order, each normalized to end with a newline. */
export function pemBlocks(text: string): PemBlock[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;
  return [...text.matchAll(re)].map((m) => ({
    label: m[1]!,
    text: m[0].replace(/\r\n/g, "\n") + "\n",
  }));
}
