// Moved to transport/email-address.ts, the lowest concern that owns "an email address"; this file goes once nothing imports it.
export { isValidMailbox, normaliseRecipient, toSafeDisplayName } from '../transport/email-address';
