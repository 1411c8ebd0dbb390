import { MAX_BOUNCE_RECIPIENTS } from './bounce.limits';
import type { BounceAction, BounceRecipient } from './bounce.types';
import { addressOf, diagnosticOf, enhancedCodeIn, fieldBlocks, messageIdOf } from './report-fields';

/** The actions a DSN may report (RFC 3464 §2.3.3). */
const DSN_ACTIONS: ReadonlySet<string> = new Set<BounceAction>(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);
const ACTION_OF_CLASS: Record<string, BounceAction> = { '2': 'delivered', '4': 'delayed', '5': 'failed' };

/** What the `message/delivery-status` part of a DSN says. */
export interface DeliveryStatus {
  recipients: BounceRecipient[];
  /** The per-message `X-Original-Message-ID` Gmail adds. */
  originalMessageId?: string;
}

/**
 * The status of a recipient: the `Status` field, unless it is the generic `X.0.0` Exim writes for
 * every failure while its `Diagnostic-Code` holds the server's own code of the same class (`5.1.1`),
 * which says what went wrong. Without a `Status`, the code in the diagnostic.
 */
function statusOf(declared: string | undefined, diagnostic: string | undefined): string | undefined {
  const status = enhancedCodeIn(declared);
  const fromServer = enhancedCodeIn(diagnostic);
  if (status && fromServer && status.endsWith('.0.0') && fromServer[0] === status[0]) return fromServer;
  return status ?? fromServer;
}

/** The `Action` field, or the one the status class implies when it is missing or unknown. */
function actionOf(declared: string | undefined, status: string | undefined): BounceAction | undefined {
  const action = declared?.split(/[\s(;]/)[0].toLowerCase();
  if (action && DSN_ACTIONS.has(action)) return action as BounceAction;
  return status ? ACTION_OF_CLASS[status[0]] : undefined;
}

/** One per-recipient block: the address we sent to (`Original-Recipient`), else where it ended (`Final-Recipient`). */
function recipientOf(record: ReadonlyMap<string, string>): BounceRecipient | undefined {
  const address = addressOf(record.get('original-recipient')) ?? addressOf(record.get('final-recipient'));
  if (!address) return undefined;
  const diagnosticCode = diagnosticOf(record.get('diagnostic-code'));
  const status = statusOf(record.get('status'), diagnosticCode);
  const action = actionOf(record.get('action'), status);
  if (!action) return undefined;
  return { address, action, ...(status && { status }), ...(diagnosticCode && { diagnosticCode }) };
}

/**
 * Whether a field begins the next recipient in a block that holds more than one (a DSN missing its
 * blank lines): a recipient field seen twice, or an `Original-Recipient` after the fields that end a
 * recipient. Postfix writes `Final-Recipient` before `Original-Recipient`, RFC 3464 the other way round.
 */
function startsNextRecipient(record: ReadonlyMap<string, string>, name: string): boolean {
  if (name !== 'original-recipient' && name !== 'final-recipient') return false;
  return record.has(name) || (name === 'original-recipient' && (record.has('action') || record.has('status')));
}

/**
 * Reads the per-message and per-recipient fields of a `message/delivery-status` part (RFC 3464 §2.2,
 * §2.3). A blank line ends a recipient, and so does a field that starts the next one. Stops at the most
 * recipients a report yields.
 */
export function readDeliveryStatus(text: string): DeliveryStatus {
  const recipients: BounceRecipient[] = [];
  let originalMessageId: string | undefined;
  let record = new Map<string, string>();
  const close = () => {
    const recipient = recipientOf(record);
    if (recipient) recipients.push(recipient);
    originalMessageId ??= messageIdOf(record.get('x-original-message-id'));
    record = new Map();
  };
  for (const block of fieldBlocks(text)) {
    for (const { name, value } of block) {
      if (startsNextRecipient(record, name)) close();
      if (!record.has(name)) record.set(name, value);
    }
    close();
    if (recipients.length >= MAX_BOUNCE_RECIPIENTS) break;
  }
  return { recipients: recipients.slice(0, MAX_BOUNCE_RECIPIENTS), ...(originalMessageId && { originalMessageId }) };
}
