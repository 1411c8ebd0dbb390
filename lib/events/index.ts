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
  SignInRequestedEvent,
  EmailChangeRequestedEvent,
  EmailChangedEvent,
  EmailChangeRevertedEvent,
  EmailSuppressedEvent,
  EmailCancelledEvent,
  EmailReportEvent,
  ReportIgnoredEvent,
  IgnoredReportReason,
  TemplateSkippedEvent,
  EmailEventPayloads,
  EmailEventListener,
  OutgoingEmail,
  BeforeEmailSendHook,
} from './email-event.types';
export { EmailEventSubscriptions } from './email-event-subscriptions';
/** Internal: the emitting side. Not in `lib/index.ts`, so apps cannot emit. */
export { EmailEventBus } from './email-event.bus';
export { OnEmailEvent } from './on-email-event.decorator';
export { BeforeEmailSend } from './before-email-send.decorator';
export { EmailEventExplorer } from './email-event.explorer';
