import { FailoverTransport } from './failover.transport';
import { PluggedTransport } from './plugged.transport';
import { SmtpTransport } from './smtp.transport';
import type { ResolvedTransport } from './transport.registry';
import type { ResolvedTransportEntry, TransportSettings } from './transport.options';
import { SesTransport } from './ses';

/** One entry of `transport`, made: an SMTP pool, or the app's own transport held to the contract. */
function makeTransport(entry: ResolvedTransportEntry, dkim: TransportSettings['dkim']): ResolvedTransport {
  if (entry.options === undefined) {
    // SES is ours and already speaks the seam's failure kinds; an app's own transport is wrapped.
    const transport = entry.custom instanceof SesTransport ? entry.custom : new PluggedTransport(entry.custom, dkim);
    return { transport, description: transport.description };
  }
  return { transport: new SmtpTransport(entry.options, entry.description), options: entry.options, description: entry.description };
}

/**
 * The module's default transport: the one configured, or for a list a FailoverTransport over them, whose
 * failed members are probed every `probeInterval` ms (the paused delivery's interval).
 */
export function makeDefaultTransport({ default: entries, dkim }: TransportSettings, probeInterval: number): ResolvedTransport {
  const members = entries.map((entry) => makeTransport(entry, dkim));
  if (members.length === 1) return members[0];
  const failover = new FailoverTransport(
    members.map(({ transport, description }) => ({ transport, description })),
    probeInterval,
  );
  return { transport: failover, description: failover.description, members };
}
