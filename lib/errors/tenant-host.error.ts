import { EmailWorkflowErrorCode } from './error-codes';
import { EmailDeliveryError } from './email-workflow.errors';

/**
 * A tenant's SMTP host (settings from `transportResolver`) is, or resolves only to, an address that
 * is not public: loopback, private, link-local, unique-local, carrier-grade NAT, cloud metadata or
 * another reserved range. Nothing was sent to it. A delivery error of kind `permanent`: the app's
 * policy refused the host, which no retry and no wait for the server changes.
 *
 * The message names the host as the tenant gave it, never the address it resolved to, and says
 * nothing about the port or timing: it may be shown to the tenant.
 */
export class TenantHostRefusedError extends EmailDeliveryError {
  override readonly code = EmailWorkflowErrorCode.TenantHostRefused;

  constructor(readonly host: string) {
    super({
      kind: 'permanent',
      reason:
        `The tenant SMTP host "${host}" was refused: it is not a public address, nor does it resolve to one. ` +
        'SMTP settings from transportResolver may not reach loopback, private, link-local, cloud metadata or other reserved addresses, ' +
        "so that a tenant cannot reach the app's own network through them. Nothing was sent. " +
        'Fix: the tenant uses a public SMTP host; to let tenants use a relay on your own network, list its range in ' +
        "tenantTransports.allowPrivateNetworks (e.g. ['10.0.0.0/8']).",
    });
  }
}
