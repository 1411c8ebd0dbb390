import type { BounceModuleOptions } from '../bounces';
import type { CryptoOptions } from '../crypto';
import type { DeliverabilityModuleOptions } from '../deliverability';
import type { DeliveryLogModuleOptions } from '../delivery-log';
import type { MetricsModuleOptions } from '../metrics';
import type { EmailQueueOptions } from '../queue';
import type { SuppressionModuleOptions } from '../suppression';
import type { TemplateModuleOptions } from '../templates';
import type { TokenModuleOptions } from '../tokens';
import type { TransportModuleOptions } from '../transport';
import type { FlowModuleOptions, WorkflowOptions } from '../workflow';
import type { SenderOptions } from '../delivery';

export type { BrandOptions, TemplateOptions } from '../templates';
export type { TokenOptions, CodeOptions } from '../tokens';
export type { FlowOptions, LinkOptions, ProofMethod } from '../workflow';
export type { DkimOptions, TenantTransportOptions } from '../transport';
export type { HtmlEncoding } from '../delivery';
export type { EmailMetricsOptions, MeterProviderLike } from '../metrics';
export type { SuppressionOptions } from '../suppression';
export type { BounceOptions, BounceImapOptions } from '../bounces';
export type { DeliveryLogOptions } from '../delivery-log';
export type { DnsOptions } from '../deliverability';

/**
 * Options of `EmailWorkflowModule.forRoot()` / `forRootAsync()`: each concern's own options side by
 * side (transport, sender, workflow, templates, tokens, flows, suppression, crypto, queue); each is documented where it is owned.
 */
export interface EmailWorkflowModuleOptions
  extends TransportModuleOptions,
    SenderOptions,
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
