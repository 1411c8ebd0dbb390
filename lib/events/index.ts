export { EmailEvent } from './email-event.types';
export type {
  EmailIdentity,
  EmailQueuedEvent,
  EmailSentEvent,
  EmailRetryingEvent,
  EmailFailedEvent,
  DeliveryPausedEvent,
  DeliveryResumedEvent,
  EmailEventPayloads,
  EmailEventListener,
} from './email-event.types';
export { EmailEvents } from './email-events';
export { OnEmailEvent } from './on-email-event.decorator';
export { EmailEventExplorer } from './email-event.explorer';
