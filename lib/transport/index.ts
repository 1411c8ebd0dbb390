export type {
  EmailTransportOption,
  SmtpTransportOptions,
  SmtpSecurity,
  SmtpAuthOptions,
  SmtpPoolOptions,
  SmtpTlsOptions,
  CustomTransportOption,
  SesTransportOption,
  TransportOption,
} from './smtp-transport.options';
export type { MailTransport, MailTransportJob, TransportCheck } from './mail-transport';
export type { MailAddress, MailMessage, MailMessageDkim } from './mail-message';
export type { SesTransportOptions } from './ses/ses.options';
export { FailoverTransport, isTransportFailure } from './failover.transport';
export { makeDefaultTransport } from './transport.factory';
export type { NodemailerSmtpOptions } from './smtp-transport.resolver';
export { SmtpTransport } from './smtp.transport';
export type { DeliveryReceipt } from './mail-transport';
export { TransportRegistry } from './transport.registry';
export type { ProbedTransport, ResolvedTransport } from './transport.registry';
export { TRANSPORT_SETTINGS, resolveSmtpTransport, resolveTransportOptions } from './transport.options';
export type { TransportSettings } from './transport.options';

// Internal: for the folders that build on the transport (diagnostics, delivery, workflow, module, cli).
export { isValidMailbox, mailboxAddress, normaliseRecipient, toSafeDisplayName } from './email-address';
export { describeTransport, toNodemailerOptions } from './smtp-transport.resolver';
export { DOCTOR_PASSWORD_ENV, noGreetingHint, smtpHint } from './smtp.hints';
export type { HintAudience, SmtpHint } from './smtp.hints';
export { dkimAlignment } from './dkim.alignment';
export { defaultPortFor, isRelayDenial, LOGIN_REQUIRED_REPLY, parseSmtpReply, RELAY_PORT, securityOfFlags, SMTP_TIMEOUT_DEFAULTS, tlsProblemOf } from './smtp.knowledge';
export type { EffectiveSmtpSecurity, SmtpReply } from './smtp.knowledge';
export { credentialRedactor, redact } from './credential.redactor';
export type { CredentialRedactor } from './credential.redactor';
export { TenantNetworkGuard } from './tenant-network.guard';
export type { DkimOptions, TenantTransportOptions, TransportModuleOptions } from './smtp-transport.options';
export { buildRawMessage } from './raw-message';
export { diagnoseSesTransport, SesTransport } from './ses';
