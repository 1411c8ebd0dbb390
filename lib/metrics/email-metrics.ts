import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { EmailEvent } from '../events';
import type { EmailEventBus, EmailEventPayloads } from '../events';
import { meterOf } from './meter.loader';
import type { AddingInstrument, MeterLike, MeterProviderLike, MetricAttributes } from './metrics.types';

/** Queue-to-sent, in seconds: from a fraction of a second on an idle queue to days of retries and pauses. */
const DELIVERY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400];
/** One SMTP transaction, in seconds: milliseconds on a local relay, up to the transport's timeouts. */
const SMTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The template and, when there is one, the tenant: what every email measurement is broken down by.
 * No recipient, name, reason or code: attributes are for aggregation, and those are personal or unbounded.
 */
function emailAttributes({ template, tenant }: { template: string; tenant?: string }): MetricAttributes {
  return tenant === undefined ? { template } : { template, tenant };
}

function transportAttributes(tenant: string | undefined): MetricAttributes {
  return tenant === undefined ? {} : { tenant };
}

/**
 * Records delivery as OpenTelemetry metrics, fed by the library's own events: what the events say is
 * what is counted, and the queue and workflow code know nothing of metrics.
 *
 * Best effort: the provider and its instruments are the app's (an SDK, an exporter), so the first throw
 * from any of them, at boot or when recording, is logged once as a warning and turns metrics off for
 * this module: an email never waits on, fails for, or logs an error because of a metric.
 */
export class EmailMetrics implements OnApplicationShutdown {
  private readonly logger = new Logger('EmailWorkflow');
  /** Paused transports by tenant ('' is the default one), to take back what a shutdown leaves counted. */
  private readonly paused = new Set<string>();
  /** Set once every instrument exists (see subscribe). */
  private pausedTransports?: AddingInstrument;
  /** Removes each listener: once metrics are off, events cost nothing here. */
  private readonly unsubscribes: Array<() => void> = [];
  private off = false;

  constructor(
    private readonly events: EmailEventBus,
    provider: MeterProviderLike,
  ) {
    this.guarded(() => this.subscribe(meterOf(provider)));
  }

  /** Creates every instrument, then feeds them from the events. */
  private subscribe(meter: MeterLike): void {
    const counter = (name: string, description: string, unit = '{email}') => meter.createCounter(`email_workflow.${name}`, { description, unit });
    const queued = counter('emails.queued', 'Emails put on the queue');
    const sent = counter('emails.sent', 'Emails the SMTP server accepted');
    const failed = counter('emails.failed', 'Emails given up for good, by kind: permanent, transient (retries spent) or expired');
    const retried = counter('emails.retried', 'Tries that failed transiently and were scheduled again', '{retry}');
    const suppressed = counter('emails.suppressed', 'Emails cancelled before queueing because the recipient is on the suppression list');
    const bounced = counter('emails.bounced', 'Bounces read back for emails we sent, by whether the address was suppressed');
    const delayed = counter('emails.delayed', 'Delay notices read back for emails we sent');
    const complained = counter('emails.complained', 'Spam complaints read back for emails we sent');
    const ignoredReports = counter('reports.ignored', 'Bounce and complaint reports that changed nothing, by type and reason (forged-tag, unknown-message, recipient-mismatch, duplicate, not-a-failure)', '{report}');
    const skippedTemplates = counter('templates.skipped', 'Stored templates (templates.store) passed over for the next source, by template and reason (invalid, render, error, timeout)', '{template}');
    const pausedTransports = meter.createUpDownCounter('email_workflow.transports.paused', {
      description: 'Transports whose delivery this process holds paused (refused login, TLS, or server unreachable)',
      unit: '{transport}',
    });
    const deliveryDuration = meter.createHistogram('email_workflow.delivery.duration', {
      description: 'Time from queueing to the SMTP server accepting the email, retries and pauses included',
      unit: 's',
      advice: { explicitBucketBoundaries: DELIVERY_BUCKETS },
    });
    const smtpDuration = meter.createHistogram('email_workflow.smtp.send.duration', {
      description: 'Time the SMTP server took to accept the email, on the try that succeeded',
      unit: 's',
      advice: { explicitBucketBoundaries: SMTP_BUCKETS },
    });
    // Only once every instrument exists: a provider that throws while creating one leaves no listener behind.
    this.pausedTransports = pausedTransports;
    // Removed only when metrics turn off: the bus lives as long as the module, and emails sent while it shuts down count too.
    this.on(EmailEvent.Queued, (event) => queued.add(1, emailAttributes(event)));
    this.on(EmailEvent.Sent, (event) => {
      const attributes = emailAttributes(event);
      // With a `transport` list: which one sent it, by its place in the list (bounded, and names no user).
      const byTransport = event.transportIndex === undefined ? attributes : { ...attributes, transport: String(event.transportIndex) };
      sent.add(1, byTransport);
      // Clamped: with Redis, another process's clock stamped queuedAt.
      deliveryDuration.record(Math.max(0, Date.now() - event.queuedAt.getTime()) / 1000, attributes);
      smtpDuration.record(event.sendDurationMs / 1000, byTransport);
    });
    this.on(EmailEvent.Retrying, (event) => retried.add(1, emailAttributes(event)));
    this.on(EmailEvent.Failed, (event) => failed.add(1, { ...emailAttributes(event), kind: event.kind }));
    this.on(EmailEvent.Suppressed, (event) => suppressed.add(1, emailAttributes(event)));
    this.on(EmailEvent.Bounced, (event) => bounced.add(1, { ...emailAttributes(event), suppressed: String(event.suppressed) }));
    this.on(EmailEvent.Delayed, (event) => delayed.add(1, emailAttributes(event)));
    this.on(EmailEvent.Complained, (event) => complained.add(1, emailAttributes(event)));
    this.on(EmailEvent.ReportIgnored, ({ type, reason }) => ignoredReports.add(1, { type, reason }));
    // Not the locale or version: the app's own values, unbounded.
    this.on(EmailEvent.TemplateSkipped, ({ name, reason }) => skippedTemplates.add(1, { template: name, reason }));
    this.on(EmailEvent.DeliveryPaused, ({ tenant }) => this.countPause(tenant, true));
    this.on(EmailEvent.DeliveryResumed, ({ tenant }) => this.countPause(tenant, false));
  }

  /**
   * A shutdown hands held emails back without a resume: this process no longer holds anything paused,
   * so its pauses are taken back rather than left counted by an exporter that outlives the module.
   */
  onApplicationShutdown(): void {
    this.guarded(() => {
      for (const key of this.paused) this.pausedTransports?.add(-1, transportAttributes(key === '' ? undefined : key));
    });
    this.paused.clear();
  }

  private countPause(tenant: string | undefined, paused: boolean): void {
    const key = tenant ?? '';
    if (this.paused.has(key) === paused) return;
    if (paused) this.paused.add(key);
    else this.paused.delete(key);
    this.pausedTransports?.add(paused ? 1 : -1, transportAttributes(tenant));
  }

  /** Listens through the guard; a listener's throw would otherwise be logged as an error for every email. */
  private on<E extends EmailEvent>(event: E, listener: (payload: EmailEventPayloads[E]) => void): void {
    this.unsubscribes.push(this.events.on(event, (payload) => this.guarded(() => listener(payload))));
  }

  /** Runs a call into the provider or an instrument; the first throw turns metrics off (see the class). */
  private guarded(call: () => void): void {
    if (this.off) return;
    try {
      call();
    } catch (error) {
      this.off = true;
      this.unsubscribes.splice(0).forEach((unsubscribe) => unsubscribe());
      this.logger.warn(
        `Metrics are off until the app restarts: the OpenTelemetry meter provider threw (${(error as Error)?.message ?? String(error)}). Emails are sent as before. Fix: check the MeterProvider given as metrics.meterProvider (or the global one) and its exporter.`,
      );
    }
  }
}
