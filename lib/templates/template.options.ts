import { OptionsResolution, resolveUnless } from '../options';
import { toSafeDisplayName } from '../transport';
import type { TemplateRegistrySettings } from './template.registry';
import { toLongHexColour } from './template.layout';
import type { EmailTemplateStore } from './template.store';

/** Brand details the built-in templates show in their header and footer. */
export interface BrandOptions {
  /** Product name, shown in the header and in subjects. */
  name: string;
  /** Absolute https URL of a logo image, shown in the header instead of the name. */
  logoUrl?: string;
  /** Hex colour of buttons and the header rule. @default '#2563eb' */
  primaryColor?: string;
  /** Address shown in the footer for questions. */
  supportEmail?: string;
  /** Postal address shown in the footer (some jurisdictions require one). */
  postalAddress?: string;
}

export interface TemplateOptions {
  /**
   * Folder of your own `.mjml` templates. A file named like a built-in (`welcome.mjml`) replaces it;
   * any other file is a new template, sendable by its name. `name.fr.mjml` is the French variant.
   */
  dir?: string;
  /** Locale used when a recipient has none, or no variant exists for theirs. @default 'en' */
  defaultLocale?: string;
  /**
   * Templates the app edits at run time (e.g. in its database), asked before `dir` and the built-ins;
   * see EmailTemplateStore. Or provide it under `EMAIL_TEMPLATE_STORE`.
   */
  store?: EmailTemplateStore;
  /** Longest wait for one store call, in ms; a slower answer is skipped for the next source. @default 500 */
  storeTimeout?: number;
  /**
   * How long a stored template (or the store having none) is used without asking the store again, in
   * ms: without a `reload()`, an edit shows within this time. 0 asks at every send. @default 60000
   */
  cacheTtl?: number;
}

/** The module options the templates concern owns. */
export interface TemplateModuleOptions {
  brand: BrandOptions;
  templates?: TemplateOptions;
}

const DEFAULT_PRIMARY_COLOR = '#2563eb';
const DEFAULT_LOCALE = 'en';
const DEFAULT_STORE_TIMEOUT_MS = 500;
const DEFAULT_CACHE_TTL_MS = 60_000;

/** The template store and its bounds, as the EmailTemplates service uses them. */
export interface TemplateStoreSettings {
  /** From the options; `EMAIL_TEMPLATE_STORE` is the fallback. */
  store?: EmailTemplateStore;
  timeoutMs: number;
  cacheTtlMs: number;
}

/** The brand as every template's context carries it: a header-safe name, the colour in `#rrggbb`. */
export interface ResolvedBrand extends BrandOptions {
  primaryColor: string;
}

/** What the templates concern resolves to: the registry's settings and the brand of every render. */
export interface TemplateSettings {
  /** Where templates come from and how the layout looks, for the boot-time registry and for previews. */
  registry: TemplateRegistrySettings;
  brand: ResolvedBrand;
  store: TemplateStoreSettings;
}

/** Injection token of the resolved `TemplateSettings`. */
export const TEMPLATE_SETTINGS = 'EMAIL_WORKFLOW:TEMPLATE_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./template.options-validation') {
  return require('./template.options-validation') as typeof import('./template.options-validation');
}

/** Checks `brand` and `templates`, and applies their defaults. */
export function resolveTemplateOptions(options: TemplateModuleOptions): OptionsResolution<TemplateSettings> {
  return resolveUnless(validation().templateOptionsProblems(options.brand, options.templates), () => {
    const templates = options.templates;
    const brand: ResolvedBrand = {
      ...options.brand,
      name: toSafeDisplayName(options.brand.name),
      primaryColor: toLongHexColour(options.brand.primaryColor ?? DEFAULT_PRIMARY_COLOR),
    };
    return {
      registry: {
        customDir: options.templates?.dir,
        defaultLocale: options.templates?.defaultLocale ?? DEFAULT_LOCALE,
        layout: { primaryColor: brand.primaryColor, hasLogo: Boolean(brand.logoUrl) },
      },
      brand,
      store: {
        store: templates?.store,
        timeoutMs: templates?.storeTimeout ?? DEFAULT_STORE_TIMEOUT_MS,
        cacheTtlMs: templates?.cacheTtl ?? DEFAULT_CACHE_TTL_MS,
      },
    };
  });
}
