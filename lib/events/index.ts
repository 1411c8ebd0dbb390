export { EmailEvent } from './email-event.types';
export type {
  EmailIdentity,
  EmailQueuedEvent,
  EmailSentEvent,
  EmailRetryingEvent,
  EmailFailedEvent,
  DeliveryPausedEvent,
  DeliveryResumedEvent,
  UserEmailEvent,
  PasswordResetRequestedEvent,
  EmailEventPayloads,
  EmailEventListener,
  OutgoingEmail,
  BeforeEmailSendHook,
} from './email-event.types';
export { EmailEvents } from './email-events';
export { OnEmailEvent } from './on-email-event.decorator';
export { BeforeEmailSend } from './before-email-send.decorator';
export { EmailEventExplorer } from './email-event.explorer';
