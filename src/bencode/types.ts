/**
 * Decoded bencode values. Byte strings stay bytes. Integers are `number` when they are
 * safe integers and `bigint` when they are not (still within int64). Dictionary keys are
 * the raw key bytes as a latin1 string, so lookups with ASCII keys read naturally and the
 * mapping back to bytes is exact.
 */
export type BValue = number | bigint | Uint8Array | BValue[] | BDict;

/** A decoded dictionary. `start`/`end` are its exact byte span in the input (end exclusive). */
export class BDict extends Map<string, BValue> {
  start = -1;
  end = -1;
}

/** What the encoder accepts: decoded values, plus JS strings (written as UTF-8) and plain objects. */
export type Encodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Encodable[]
  | ReadonlyMap<string, Encodable>
  | { readonly [key: string]: Encodable | undefined };
