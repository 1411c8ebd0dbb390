/**
 * Why an address is on the list. The library writes 'bounce'; webhooks and support tools use
 * 'complaint', 'manual' or a reason of their own.
 */
export type SuppressionReason = 'bounce' | 'complaint' | 'manual' | (string & {});

/** One address on the list, as `EmailSuppressions.list()` and `find()` give it. */
export interface Suppression {
  /** The address as it was sent and refused (or added): trimmed, ASCII letters lower-cased, no Unicode folding. */
  address: string;
  reason: SuppressionReason;
  /** The SMTP code that put it there, e.g. '5.1.1' for a bounce. */
  code?: string;
  /** The email whose bounce or complaint put it there. */
  messageId?: string;
  suppressedAt: Date;
}

/** What `add` takes beside the address and reason. */
export interface SuppressionDetails {
  code?: string;
  /** The email the bounce or complaint was about, shown by `list()`. */
  messageId?: string;
}

/**
 * One entry as the store keeps it, under the keyed hash of its address: the address itself only
 * sealed (AES-GCM, bound to that hash), so whoever reads the store cannot read or confirm an address.
 */
export interface StoredSuppression {
  sealedAddress: string;
  reason: string;
  code?: string;
  /** The Message-ID of the email it came from, sealed like the address. */
  sealedMessageId?: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Where entries live: Redis beside the queue and tokens, or process memory, like the token store. */
export interface SuppressionStore {
  get(key: string): Promise<StoredSuppression | undefined>;
  put(key: string, entry: StoredSuppression): Promise<void>;
  /** Whether there was an entry to delete. */
  delete(key: string): Promise<boolean>;
  entries(): Promise<Array<[string, StoredSuppression]>>;
}
