export { EmailBounceProcessor } from './bounce.processor';
export type { BounceProcessingResult } from './bounce.processor';
export { BounceMailbox } from './bounce-mailbox';
export type { BounceMailboxPlace } from './bounce-mailbox';
export type { BounceReaderStatus, BounceReaderState } from './bounce-mailbox.types';
