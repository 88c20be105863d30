/**
 * Queue ids: short, unique, and sortable by time, like Postfix's long queue ids. 8 characters
 * of milliseconds then 6 random ones, in an alphabet without look-alikes.
 *
 * @module
 */

const ALPHABET = "0123456789BCDFGHJKLMNPQRSTVWXYZ"; // 31 symbols, no vowels: no accidental words

function encode(n: number, width: number): string {
  let s = "";
  for (let i = 0; i < width; i++) {
    s = ALPHABET[n % ALPHABET.length] + s;
    n = Math.floor(n / ALPHABET.length);
  }
  return s;
}

/** A new queue id such as `6XK2Q9RBZ4HM1T`. */
export function newQueueId(now = Date.now()): string {
  const random = new Uint32Array(1);
  crypto.getRandomValues(random);
  return encode(now, 9) + encode(random[0]!, 6);
}
