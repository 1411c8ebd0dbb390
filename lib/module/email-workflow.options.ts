import type { BounceModuleOptions } from '../bounces/bounce.options';
import type { CryptoOptions } from '../crypto/crypto.options';
import type { DeliverabilityModuleOptions } from '../deliverability/deliverability.options';
import type { DeliveryLogModuleOptions } from '../delivery-log/delivery-log.options';
import type { MetricsModuleOptions } from '../metrics/metrics.options';
import type { EmailQueueOptions } from '../queue/queue.options';
import type { SuppressionModuleOptions } from '../suppression/suppression.options';
import type { TemplateModuleOptions } from '../templates/template.options';
import type { TokenModuleOptions } from '../tokens/token.options';
import type { TransportModuleOptions } from '../transport/smtp-transport.options';
import type { FlowModuleOptions } from '../workflow/flow.options';
import type { WorkflowOptions } from '../workflow/workflow.options';

export type { BrandOptions, TemplateOptions } from '../templates/template.options';
export type { TokenOptions, CodeOptions } from '../tokens/token.options';
export type { FlowOptions, EmailDelivery } from '../workflow/flow.options';
export type { DkimOptions, TenantTransportOptions } from '../transport/smtp-transport.options';
export type { LinkOptions } from '../workflow/workflow.options';
export type { HtmlEncoding } from '../queue/message.composer';
export type { EmailMetricsOptions } from '../metrics/metrics.options';
export type { MeterProviderLike } from '../metrics/metrics.types';
export type { SuppressionOptions } from '../suppression/suppression.options';
export type { BounceOptions, BounceImapOptions } from '../bounces/bounce.options';
export type { DeliveryLogOptions } from '../delivery-log/delivery-log.options';
export type { DnsOptions } from '../deliverability/deliverability.options';

/**
 * Options of `EmailWorkflowModule.forRoot()` / `forRootAsync()`: each concern's own options side by
 * side (transport, workflow, templates, tokens, flows, suppression, crypto, queue); each is documented where it is owned.
 */
export interface EmailWorkflowModuleOptions
  extends TransportModuleOptions,
    WorkflowOptions,
    TemplateModuleOptions,
    TokenModuleOptions,
    FlowModuleOptions,
    SuppressionModuleOptions,
    CryptoOptions,
    MetricsModuleOptions,
    BounceModuleOptions,
    DeliveryLogModuleOptions,
    DeliverabilityModuleOptions {
  /**
   * Delivery queue. `{ redis: 'redis://…' }` for durable delivery on Bull; `false` (the default) for
   * an in-process queue that is lost when the process stops.
   * @default false
   */
  queue?: false | EmailQueueOptions;
}
