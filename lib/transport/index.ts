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
export { TRANSPORT_SETTINGS } from './transport.options';
export type { TransportSettings } from './transport.options';
