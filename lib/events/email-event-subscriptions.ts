import { Injectable } from '@nestjs/common';
import { EmailEventBus } from './email-event.bus';
import type { BeforeEmailSendHook, EmailEvent, EmailEventListener } from './email-event.types';

/**
 * Subscribes to the workflow's events and adds before-send hooks at run time, beside the
 * `@OnEmailEvent` / `@BeforeEmailSend` methods bound at bootstrap. It can only listen: the library
 * alone emits, so an `email.sent` always means an email was sent.
 *
 * @example
 * constructor(events: EmailEventSubscriptions) {
 *   events.on(EmailEvent.Failed, (event) => this.alerts.notify(event.reason));
 * }
 */
@Injectable()
export class EmailEventSubscriptions {
  // A true private field: not even `(events as any)` reaches the bus that emits.
  readonly #bus: EmailEventBus;

  constructor(bus: EmailEventBus) {
    this.#bus = bus;
  }

  /** Subscribes; returns a function that unsubscribes. */
  on<E extends EmailEvent>(event: E, listener: EmailEventListener<E>): () => void {
    return this.#bus.on(event, listener);
  }

  /** Registers a before-send hook for one template, or `'*'` for all; returns a function that removes it. */
  beforeSend(template: string, hook: BeforeEmailSendHook): () => void {
    return this.#bus.beforeSend(template, hook);
  }
}
