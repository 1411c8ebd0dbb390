export type {
  EmailTransportOption,
  SmtpTransportOptions,
  SmtpSecurity,
  SmtpAuthOptions,
  SmtpPoolOptions,
  SmtpTlsOptions,
} from './smtp-transport.options';
export type { NodemailerSmtpOptions } from './smtp-transport.resolver';
export { SmtpTransport, loadNodemailer } from './smtp.transport';
export type { DeliveryReceipt } from './smtp.transport';
export { TransportRegistry } from './transport.registry';
export type { ResolvedTransport } from './transport.registry';
export { TRANSPORT_SETTINGS } from './transport.options';
export type { TransportSettings } from './transport.options';
