export { EmailBounceProcessor } from './bounce.processor';
export type { BounceProcessingResult } from './bounce.processor';
export type { ProviderEvent, ProviderEventResult, ProviderEventType } from './provider-event.types';
export { BounceMailbox } from './bounce-mailbox';
export type { BounceMailboxPlace } from './bounce-mailbox';
export type { BounceReaderStatus, BounceReaderState } from './bounce-mailbox.types';
