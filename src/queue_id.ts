/**
 * Queue ids: short, unique, and sortable by time, like Postfix's long queue ids: 9 characters
 * of milliseconds (good for about 800 years) then 6 random ones, in an alphabet without
 * look-alikes.
 *
 * A leaf: the server names each transaction with one, the queue each DSN it writes, and
 * `mail import` each message it stores. The store keeps the id it is given and makes none.
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

/** A new queue id such as `238ZPGM6LRB7MLB`. */
export function newQueueId(now = Date.now()): string {
  const random = new Uint32Array(1);
  crypto.getRandomValues(random);
  return encode(now, 9) + encode(random[0]!, 6);
}
