import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { BEFORE_EMAIL_SEND_METADATA, ON_EMAIL_EVENT_METADATA } from './email-event.constants';
import type { BeforeEmailSendHook, EmailEvent, EmailEventListener } from './email-event.types';
import { EmailEventSubscriptions } from './email-event-subscriptions';

/** A provider method carrying `@OnEmailEvent` and/or `@BeforeEmailSend`. */
interface HookMethod {
  name: string;
  method: (...args: unknown[]) => unknown;
  events: EmailEvent[];
  templates: string[];
}

/**
 * Finds every `@OnEmailEvent` and `@BeforeEmailSend` method among the app's providers and binds it.
 * The one place that reads that metadata. Works from the instance, so providers registered with
 * useFactory or useValue are found like classes.
 */
@Injectable()
export class EmailEventExplorer implements OnModuleInit {
  private readonly logger = new Logger('EmailWorkflow');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly events: EmailEventSubscriptions,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
      const hooks = this.hookMethodsOf(instance);
      if (hooks.length === 0) continue;
      if (wrapper.isDependencyTreeStatic()) this.bind(instance, hooks);
      else this.warnNotBound(instance.constructor.name, hooks);
    }
  }

  private hookMethodsOf(instance: Record<string, unknown>): HookMethod[] {
    const prototype = Object.getPrototypeOf(instance) as object;
    return this.scanner.getAllMethodNames(prototype).flatMap((name) => {
      const method = instance[name] as (...args: unknown[]) => unknown;
      const events = this.reflector.get<EmailEvent[] | undefined>(ON_EMAIL_EVENT_METADATA, method) ?? [];
      const templates = this.reflector.get<string[] | undefined>(BEFORE_EMAIL_SEND_METADATA, method) ?? [];
      return events.length > 0 || templates.length > 0 ? [{ name, method, events, templates }] : [];
    });
  }

  private bind(instance: Record<string, unknown>, hooks: HookMethod[]): void {
    for (const { method, events, templates } of hooks) {
      const bound = method.bind(instance);
      for (const event of events) this.events.on(event, bound as EmailEventListener<EmailEvent>);
      for (const template of templates) this.events.beforeSend(template, bound as BeforeEmailSendHook);
    }
  }

  // A request-scoped instance exists only inside an HTTP request, while emails are sent and their events
  // emitted outside of one: there is no instance to call, so say so rather than drop the hooks silently.
  private warnNotBound(className: string, hooks: HookMethod[]): void {
    const methods = hooks.map(({ name, events, templates }) => {
      const decorators = [...(events.length > 0 ? ['@OnEmailEvent'] : []), ...(templates.length > 0 ? ['@BeforeEmailSend'] : [])];
      return `${name}() (${decorators.join(', ')})`;
    });
    this.logger.warn(
      `${className} is request-scoped (or depends on a request-scoped provider), so its email hooks ${methods.join(', ')} are not bound and will never run. ` +
        `Fix: make ${className} singleton-scoped (no Scope.REQUEST, no request-scoped dependency), or move the hooks into a singleton-scoped provider.`,
    );
  }
}
