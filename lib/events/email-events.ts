import { Injectable, Logger } from '@nestjs/common';
import { EmailEvent, EmailEventListener, EmailEventPayloads } from './email-event.types';

/**
 * The module's event hub. Listeners come from `@OnEmailEvent` methods (bound at bootstrap) or
 * from `on()`. A throwing or rejecting listener is logged and never breaks delivery.
 */
@Injectable()
export class EmailEvents {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly listeners = new Map<EmailEvent, Set<EmailEventListener<EmailEvent>>>();

  /** Subscribes; returns a function that unsubscribes. */
  on<E extends EmailEvent>(event: E, listener: EmailEventListener<E>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as EmailEventListener<EmailEvent>);
    this.listeners.set(event, set);
    return () => set.delete(listener as EmailEventListener<EmailEvent>);
  }

  emit<E extends EmailEvent>(event: E, payload: EmailEventPayloads[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        Promise.resolve(listener(payload)).catch((error: unknown) => this.report(event, error));
      } catch (error) {
        this.report(event, error);
      }
    }
  }

  private report(event: EmailEvent, error: unknown): void {
    this.logger.error(`A listener of ${event} failed: ${(error as Error)?.message ?? String(error)}`);
  }
}
