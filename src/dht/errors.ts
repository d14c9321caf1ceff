import { TesseraError } from '../util/errors.js';

/**
 * A KRPC packet that is malformed or out of policy (BEP 5, "KRPC Protocol"). When the
 * packet was readable far enough to have a transaction id and was a query, they are kept so
 * the node can answer with a KRPC error (201–204) instead of staying silent.
 */
export class KrpcError extends TesseraError {
  readonly transactionId: Uint8Array | undefined;
  readonly wasQuery: boolean;
  constructor(code: string, message: string, context: { transactionId?: Uint8Array; wasQuery?: boolean; cause?: unknown } = {}) {
    super(code, message, context.cause === undefined ? undefined : { cause: context.cause });
    this.transactionId = context.transactionId;
    this.wasQuery = context.wasQuery ?? false;
  }
}

/** A failure of the DHT node itself: a query that timed out, a closed node, a refused address. */
export class DhtError extends TesseraError {}
