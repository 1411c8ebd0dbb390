import { OptionsResolution, resolveUnless } from '../../options';
import type { RateLimitRule } from '../../tokens';

/** How a flow's email lets the user prove the address is theirs: a link, a one-time code entered with the address, or both. */
export type ProofMethod = 'link' | 'code' | 'both';

/**
 * Per-flow lifetimes (seconds), delivery and request limits. Limits on typed-in addresses count them
 * trimmed, NFKC-normalised and lower-cased; once the directory has found the account, the account's
 * own budget (the same rule, keyed by user id) is charged too, so every spelling of one account
 * shares one limit. IPs count IPv4-mapped IPv6 as IPv4, and IPv6 by /64.
 */
export interface FlowOptions {
  verifyEmail?: {
    /** @default 86400 (24 hours) */
    ttl?: number;
    /** @default 'link' */
    delivery?: ProofMethod;
    limits?: {
      /** Re-sent verification emails per address. @default { limit: 5, windowSeconds: 3600 } */
      perAddress?: RateLimitRule;
      /** `startEmailVerification` calls per address; over it the call throws RateLimitedError. @default 5/h */
      startPerAddress?: RateLimitRule;
    };
  };
  resetPassword?: {
    /** @default 3600 (1 hour) */
    ttl?: number;
    /** @default 'link' */
    delivery?: ProofMethod;
    /** @default { perAddress: 5/h, perIp: 20/h } */
    limits?: { perAddress?: RateLimitRule; perIp?: RateLimitRule };
  };
  /** Passwordless sign-in (`requestSignIn`); with a link, `links.signIn` is required. */
  signIn?: {
    /** @default 900 (15 minutes) */
    ttl?: number;
    /** @default 'link' */
    delivery?: ProofMethod;
    /** @default { perAddress: 5/h, perIp: 20/h } */
    limits?: { perAddress?: RateLimitRule; perIp?: RateLimitRule };
  };
  /** Email change (`requestEmailChange`); requires `links.confirmEmailChange` and `links.revertEmailChange`. */
  changeEmail?: {
    /** Lifetime of the confirmation link sent to the new address. @default 3600 (1 hour) */
    ttl?: number;
    /** Lifetime of the "this wasn't me" link sent to the current address. @default 604800 (7 days) */
    revertTtl?: number;
    /**
     * `perUser`: requests per account. `perNewAddress`: requests naming one new address, from any
     * account, so many accounts cannot flood one inbox with confirmations. @default { perUser: 5/h, perNewAddress: 5/h }
     */
    limits?: { perUser?: RateLimitRule; perNewAddress?: RateLimitRule };
  };
  /** The new-sign-in notice (`notifyNewSignIn`). */
  newSignIn?: {
    /** Over it, no notice is sent. @default { perUser: 10/h } */
    limits?: { perUser?: RateLimitRule };
  };
}

/** The module options the flows concern owns. */
export interface FlowModuleOptions {
  flows?: FlowOptions;
}

interface LinkFlowSettings<Limits> {
  /** Seconds a token or code stays usable. */
  ttl: number;
  delivery: ProofMethod;
  limits: Limits;
}

/** Every flow's settings, defaults applied. */
export interface FlowSettings {
  verifyEmail: LinkFlowSettings<{ perAddress: RateLimitRule; startPerAddress: RateLimitRule }>;
  resetPassword: LinkFlowSettings<{ perAddress: RateLimitRule; perIp: RateLimitRule }>;
  signIn: LinkFlowSettings<{ perAddress: RateLimitRule; perIp: RateLimitRule }>;
  changeEmail: { ttl: number; revertTtl: number; limits: { perUser: RateLimitRule; perNewAddress: RateLimitRule } };
  newSignIn: { limits: { perUser: RateLimitRule } };
}

/** Injection token of the resolved `FlowSettings`. */
export const FLOW_SETTINGS = 'EMAIL_WORKFLOW:FLOW_SETTINGS';

const perHour = (limit: number): RateLimitRule => ({ limit, windowSeconds: 3_600 });

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./flow.options-validation') {
  return require('./flow.options-validation') as typeof import('./flow.options-validation');
}

/** The longest lifetime of any code, which the code try counter's window must cover. */
export function longestCodeTtl(flows: FlowSettings): number {
  return Math.max(flows.verifyEmail.ttl, flows.resetPassword.ttl, flows.signIn.ttl);
}

/** Checks `flows` (and that each flow used has its links) and applies the defaults. */
export function resolveFlowOptions({ flows, links }: FlowModuleOptions & { links?: unknown }): OptionsResolution<FlowSettings> {
  return resolveUnless(validation().flowOptionsProblems(flows, links), () => ({
    verifyEmail: {
      ttl: flows?.verifyEmail?.ttl ?? 86_400,
      delivery: flows?.verifyEmail?.delivery ?? 'link',
      limits: { perAddress: flows?.verifyEmail?.limits?.perAddress ?? perHour(5), startPerAddress: flows?.verifyEmail?.limits?.startPerAddress ?? perHour(5) },
    },
    resetPassword: {
      ttl: flows?.resetPassword?.ttl ?? 3_600,
      delivery: flows?.resetPassword?.delivery ?? 'link',
      limits: { perAddress: flows?.resetPassword?.limits?.perAddress ?? perHour(5), perIp: flows?.resetPassword?.limits?.perIp ?? perHour(20) },
    },
    signIn: {
      ttl: flows?.signIn?.ttl ?? 900,
      delivery: flows?.signIn?.delivery ?? 'link',
      limits: { perAddress: flows?.signIn?.limits?.perAddress ?? perHour(5), perIp: flows?.signIn?.limits?.perIp ?? perHour(20) },
    },
    changeEmail: {
      ttl: flows?.changeEmail?.ttl ?? 3_600,
      revertTtl: flows?.changeEmail?.revertTtl ?? 604_800,
      limits: { perUser: flows?.changeEmail?.limits?.perUser ?? perHour(5), perNewAddress: flows?.changeEmail?.limits?.perNewAddress ?? perHour(5) },
    },
    newSignIn: { limits: { perUser: flows?.newSignIn?.limits?.perUser ?? perHour(10) } },
  }));
}
