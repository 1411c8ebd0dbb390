import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ON_EMAIL_EVENT_METADATA } from './email-event.constants';
import type { EmailEvent, EmailEventListener } from './email-event.types';
import { EmailEvents } from './email-events';

/** Finds every `@OnEmailEvent` method among the app's providers and subscribes it. The one place that reads that metadata. */
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
        const subscribed = this.reflector.get<EmailEvent[] | undefined>(ON_EMAIL_EVENT_METADATA, method);
        for (const event of subscribed ?? []) {
          this.events.on(event, method.bind(instance) as EmailEventListener<EmailEvent>);
        }
      }
    }
  }
}
