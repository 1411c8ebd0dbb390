import { Injectable, Logger } from '@nestjs/common';
import { ALL_TEMPLATES } from './email-event.constants';
import type { BeforeEmailSendHook, EmailEvent, EmailEventListener, EmailEventPayloads, OutgoingEmail } from './email-event.types';

/**
 * The library's side of the events: it holds the listeners and before-send hooks, emits the events and
 * runs the hooks. Internal: apps subscribe through `EmailEventSubscriptions`, which cannot emit, so no app can fake
 * an `email.sent`. A throwing listener is logged and never breaks delivery; a throwing hook stops that send.
 */
@Injectable()
export class EmailEventBus {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly listeners = new Map<EmailEvent, Set<EmailEventListener<EmailEvent>>>();
  private readonly beforeSendHooks: Array<{ template: string; hook: BeforeEmailSendHook }> = [];

  /** Adds a listener; returns a function that removes it. */
  on<E extends EmailEvent>(event: E, listener: EmailEventListener<E>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as EmailEventListener<EmailEvent>);
    this.listeners.set(event, set);
    return () => set.delete(listener as EmailEventListener<EmailEvent>);
  }

  /** Adds a before-send hook for one template, or `'*'` for all; returns a function that removes it. */
  beforeSend(template: string, hook: BeforeEmailSendHook): () => void {
    const entry = { template, hook };
    this.beforeSendHooks.push(entry);
    return () => {
      const index = this.beforeSendHooks.indexOf(entry);
      if (index >= 0) this.beforeSendHooks.splice(index, 1);
    };
  }

  /** Tells every listener of `event`, without waiting for them. */
  emit<E extends EmailEvent>(event: E, payload: EmailEventPayloads[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        Promise.resolve(listener(payload)).catch((error: unknown) => this.report(event, error));
      } catch (error) {
        this.report(event, error);
      }
    }
  }

  /** Runs the hooks for this email in order; stops early once one cancels it. */
  async runBeforeSend(email: OutgoingEmail, isCancelled: () => boolean): Promise<void> {
    for (const { template, hook } of this.beforeSendHooks) {
      if (template !== ALL_TEMPLATES && template !== email.template) continue;
      await hook(email);
      if (isCancelled()) return;
    }
  }

  private report(event: EmailEvent, error: unknown): void {
    this.logger.error(`A listener of ${event} failed: ${(error as Error)?.message ?? String(error)}`);
  }
}
