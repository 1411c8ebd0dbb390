// Not options.validator: it loads class-validator, which each concern requires lazily at boot (see its header).
export { problemsOf, resolveUnless } from './options.resolution';
export type { OptionsResolution } from './options.resolution';
