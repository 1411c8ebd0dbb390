import { toSafeDisplayName } from '../workflow/address';
import { describeTransport, NodemailerSmtpOptions, toNodemailerOptions } from '../transport/smtp-transport.resolver';
import { DEFAULT_LOCALE, DEFAULT_PRIMARY_COLOR } from './email-workflow.constants';
import type { BrandOptions, EmailWorkflowModuleOptions, LinkOptions } from './email-workflow.options';
import { validateEmailWorkflowOptions } from './options.validation';

/** Options after validation, with every default applied. */
export interface ResolvedEmailWorkflowOptions {
  transport: NodemailerSmtpOptions;
  /** The transport without its password, for logs. */
  transportDescription: string;
  from: string;
  replyTo?: string;
  brand: BrandOptions & { primaryColor: string };
  links: LinkOptions;
  templates: { dir?: string; defaultLocale: string };
}

export function resolveEmailWorkflowOptions(options: EmailWorkflowModuleOptions): ResolvedEmailWorkflowOptions {
  validateEmailWorkflowOptions(options);
  return {
    transport: toNodemailerOptions(options.transport),
    transportDescription: describeTransport(options.transport),
    from: options.from,
    replyTo: options.replyTo,
    brand: {
      ...options.brand,
      name: toSafeDisplayName(options.brand.name),
      primaryColor: options.brand.primaryColor ?? DEFAULT_PRIMARY_COLOR,
    },
    links: options.links,
    templates: {
      dir: options.templates?.dir,
      defaultLocale: options.templates?.defaultLocale ?? DEFAULT_LOCALE,
    },
  };
}
