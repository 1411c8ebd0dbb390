export { parseBounce } from './parse-bounce';
export { MAX_BOUNCE_SIZE, MAX_BOUNCE_MIME_DEPTH, MAX_BOUNCE_RECIPIENTS, MAX_DIAGNOSTIC_LENGTH } from './bounce.limits';
export type { BounceReport, BounceRecipient, BounceType, BounceAction } from './bounce.types';
export { BOUNCE_SETTINGS, resolveBounceOptions } from './bounce.options';
export type { BounceImapOptions, BounceModuleOptions, BounceOptions, BounceSettings, ResolvedBounceImap } from './bounce.options';
