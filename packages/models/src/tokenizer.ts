/** A character-level vocabulary: three special tokens, then the characters the tasks use. */
export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
const CHARS = " 0123456789abcdefghijklmnopqrstuvwxyz+-=:,.>?<*/!";
export const VOCAB_SIZE = 3 + CHARS.length;

const index = new Map([...CHARS].map((c, i) => [c, i + 3]));

export function encode(text: string): number[] {
  return [...text].map((c) => {
    const id = index.get(c);
    if (id === undefined) throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary (${JSON.stringify(CHARS)})`);
    return id;
  });
}

export function decode(ids: readonly number[]): string {
  let out = '';
  for (const id of ids) {
    if (id === EOS) break;
    if (id >= 3) out += CHARS[id - 3];
  }
  return out;
}

export function isEncodable(text: string): boolean {
  return [...text].every((c) => index.has(c));
}
