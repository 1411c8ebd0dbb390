import { OptionsResolution, resolveUnless } from '../errors/options.resolution';
import { toSafeDisplayName } from '../transport/email-address';
import type { TemplateRegistrySettings } from './template.registry';
import { toLongHexColour } from './template.layout';

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
}

/** The module options the templates concern owns. */
export interface TemplateModuleOptions {
  brand: BrandOptions;
  templates?: TemplateOptions;
}

const DEFAULT_PRIMARY_COLOR = '#2563eb';
const DEFAULT_LOCALE = 'en';

/** The brand as every template's context carries it: a header-safe name, the colour in `#rrggbb`. */
export interface ResolvedBrand extends BrandOptions {
  primaryColor: string;
}

/** What the templates concern resolves to: the registry's settings and the brand of every render. */
export interface TemplateSettings {
  /** Where templates come from and how the layout looks, for the boot-time registry and for previews. */
  registry: TemplateRegistrySettings;
  brand: ResolvedBrand;
}

/** Injection token of the resolved `TemplateSettings`. */
export const TEMPLATE_SETTINGS = 'EMAIL_WORKFLOW:TEMPLATE_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see errors/options.validator.ts).
function validation(): typeof import('./template.options-validation') {
  return require('./template.options-validation') as typeof import('./template.options-validation');
}

/** Checks `brand` and `templates`, and applies their defaults. */
export function resolveTemplateOptions(options: TemplateModuleOptions): OptionsResolution<TemplateSettings> {
  return resolveUnless(validation().templateOptionsProblems(options.brand, options.templates), () => {
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
    };
  });
}
