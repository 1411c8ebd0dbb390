import { BounceSettings, resolveBounceOptions } from '../bounces';
import { credentialKeysFrom, CryptoSettings, resolveCryptoOptions } from '../crypto';
import { DeliveryLogSettings, resolveDeliveryLogOptions } from '../delivery-log';
import { DeliverabilitySettings, resolveDeliverabilityOptions } from '../deliverability';
import { InvalidOptionsError, OptionsProblem } from '../errors';
import { problemsOf } from '../options';
import { MetricsSettings, resolveMetricsOptions } from '../metrics';
import { QueueSettings, requestsRedis, resolveQueueOptions } from '../queue';
import { resolveSuppressionOptions, SuppressionSettings } from '../suppression';
import { resolveTemplateOptions, TemplateSettings } from '../templates';
import { resolveTokenOptions, TokenSettings } from '../tokens';
import { resolveTransportOptions, TransportSettings } from '../transport';
import { FlowSettings, resolveFlowOptions, resolveWorkflowOptions, WorkflowSettings } from '../workflow';
import { resolveSenderOptions, SenderSettings } from '../delivery';
import type { EmailWorkflowModuleOptions } from './email-workflow.options';

/** Every concern's resolved settings; the module provides each under its concern's token. */
export interface EmailWorkflowSettings {
  transport: TransportSettings;
  sender: SenderSettings;
  workflow: WorkflowSettings;
  templates: TemplateSettings;
  tokens: TokenSettings;
  flows: FlowSettings;
  suppression: SuppressionSettings;
  queue: QueueSettings;
  crypto: CryptoSettings;
  metrics: MetricsSettings;
  bounces: BounceSettings;
  deliveryLog: DeliveryLogSettings;
  deliverability: DeliverabilitySettings;
}

/** Every top-level option; anything else is a typo worth a boot error. */
const KNOWN_OPTIONS: Record<keyof EmailWorkflowModuleOptions, true> = {
  transport: true,
  from: true,
  replyTo: true,
  htmlEncoding: true,
  brand: true,
  links: true,
  templates: true,
  queue: true,
  secret: true,
  users: true,
  tokens: true,
  flows: true,
  suppression: true,
  credentialKeys: true,
  dkim: true,
  transportResolver: true,
  tenantTransports: true,
  metrics: true,
  bounces: true,
  deliveryLog: true,
  dns: true,
};

/** Dropped options whose own concern names where they went (`rateLimits` → `flows.<flow>.limits`). */
const DROPPED_OPTIONS = new Set(['rateLimits']);

function unknownOptionProblems(options: object): OptionsProblem[] {
  return Object.keys(options)
    .filter((key) => !Object.hasOwn(KNOWN_OPTIONS, key) && !DROPPED_OPTIONS.has(key))
    .map((path) => ({ path, problem: 'is not a known option', fix: 'remove it or check its spelling' }));
}

/**
 * Resolves every concern's options, or throws one InvalidOptionsError listing every problem of them
 * all. Each concern checks and defaults its own options; this only combines them.
 */
export function resolveEmailWorkflowOptions(options: EmailWorkflowModuleOptions): EmailWorkflowSettings {
  const value: unknown = options;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionsError([
      { path: '(options)', problem: 'are missing', fix: 'pass an options object to EmailWorkflowModule.forRoot()' },
    ]);
  }
  const transport = resolveTransportOptions(options, credentialKeysFrom(options.credentialKeys));
  const sender = resolveSenderOptions(options);
  const workflow = resolveWorkflowOptions(options);
  const templates = resolveTemplateOptions(options);
  const tokens = resolveTokenOptions(options);
  const flows = resolveFlowOptions(options);
  const suppression = resolveSuppressionOptions(options);
  const queue = resolveQueueOptions(options.queue);
  const crypto = resolveCryptoOptions(options, { durableQueue: requestsRedis(options.queue), customTokenStore: options.tokens?.store !== undefined, bounceAddress: options.bounces?.address !== undefined });
  const metrics = resolveMetricsOptions(options.metrics);
  const bounces = resolveBounceOptions(options);
  const deliveryLog = resolveDeliveryLogOptions(options);
  const deliverability = resolveDeliverabilityOptions(options);
  const problems = [
    ...problemsOf(transport),
    ...unknownOptionProblems(options),
    ...problemsOf(metrics),
    ...[sender, workflow, templates, tokens, flows, suppression, queue, crypto, bounces, deliveryLog, deliverability].flatMap(problemsOf),
  ];
  if (transport.ok && sender.ok && workflow.ok && templates.ok && tokens.ok && flows.ok && suppression.ok && queue.ok && crypto.ok && metrics.ok && bounces.ok && deliveryLog.ok && deliverability.ok && problems.length === 0) {
    return {
      transport: transport.value,
      sender: sender.value,
      workflow: workflow.value,
      templates: templates.value,
      tokens: tokens.value,
      flows: flows.value,
      suppression: suppression.value,
      queue: queue.value,
      crypto: crypto.value,
      metrics: metrics.value,
      bounces: bounces.value,
      deliveryLog: deliveryLog.value,
      deliverability: deliverability.value,
    };
  }
  throw new InvalidOptionsError(problems);
}
