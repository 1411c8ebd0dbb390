import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { BEFORE_EMAIL_SEND_METADATA, ON_EMAIL_EVENT_METADATA } from './email-event.constants';
import type { BeforeEmailSendHook, EmailEvent, EmailEventListener } from './email-event.types';
import { EmailEvents } from './email-events';

/**
 * Finds every `@OnEmailEvent` and `@BeforeEmailSend` method among the app's providers and binds it.
 * The one place that reads that metadata. Works from the instance, so providers registered with
 * useFactory or useValue are found like classes.
 */
@Injectable()
export class EmailEventExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly events: EmailEvents,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = instance[methodName] as (...args: unknown[]) => unknown;
        const bound = method.bind(instance);
        for (const event of this.reflector.get<EmailEvent[] | undefined>(ON_EMAIL_EVENT_METADATA, method) ?? []) {
          this.events.on(event, bound as EmailEventListener<EmailEvent>);
        }
        for (const template of this.reflector.get<string[] | undefined>(BEFORE_EMAIL_SEND_METADATA, method) ?? []) {
          this.events.beforeSend(template, bound as BeforeEmailSendHook);
        }
      }
    }
  }
}
