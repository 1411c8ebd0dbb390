import { Inject, Injectable } from '@nestjs/common';
import { BOUNCE_SETTINGS } from '../bounces';
import type { BounceSettings } from '../bounces';
import { DELIVERABILITY_SETTINGS, diagnoseDeliverability } from '../deliverability';
import type { DeliverabilityDiagnosis, DeliverabilitySettings } from '../deliverability';
import { MessageComposer } from '../delivery';
import { TransportRegistry } from '../transport';
import type { DkimOptions } from '../transport';

/** Answers whether mail that goes out lands in the inbox: the DNS of the domains it is sent from, checked as receivers check it. */
@Injectable()
export class DeliverabilityDiagnostics {
  constructor(
    private readonly composer: MessageComposer,
    private readonly transports: TransportRegistry,
    @Inject(DELIVERABILITY_SETTINGS) private readonly settings: DeliverabilitySettings,
    @Inject(BOUNCE_SETTINGS) private readonly bounces: BounceSettings,
  ) {}

  /** See `EmailWorkflowService.diagnoseDeliverability`. */
  async diagnose(tenant?: string): Promise<DeliverabilityDiagnosis> {
    this.transports.assertServes(tenant, 'diagnoseDeliverability');
    // The tenant's transport: its SMTP host is what receivers may see; DKIM is the module's for every transport.
    // A list: its first SMTP transport; an app's own transport has no SMTP host to look at.
    const resolved = await this.transports.get(tenant);
    const options = resolved.options ?? resolved.members?.find((member) => member.options)?.options ?? {};
    const dkim = options.dkim as DkimOptions | undefined;
    const address = this.bounces.address;
    return diagnoseDeliverability({
      from: this.composer.senderAddress,
      bounceAddress: address && `${address.local}@${address.domain}`,
      dkim: dkim && { domainName: dkim.domainName, keySelector: dkim.keySelector, privateKey: dkim.privateKey },
      smtp: options.host ? { host: options.host, name: options.name } : undefined,
      dns: this.settings.dns,
      audience: 'api',
    });
  }
}
