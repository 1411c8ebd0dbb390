import type { CompiledTemplate, TemplateContext } from './template.compiler';

const SAMPLE_NAME = 'Ada Lovelace';
const SAMPLE_MOMENT = new Date('2026-11-23T09:30:00Z');

// A file name may carry a tag Intl refuses (`name.xx-1.mjml`); its preview then reads English ones.
function supportedByIntl(locale: string): boolean {
  try {
    return locale !== '' && Intl.NumberFormat.supportedLocalesOf(locale).length > 0;
  } catch {
    return false;
  }
}

/** Durations and moments as a real send carries them: written by Intl in the recipient's locale. */
function inLocale(locale: string): { duration: (value: number, unit: 'minute' | 'hour' | 'day') => string; moment: string } {
  const tag = supportedByIntl(locale) ? locale : 'en';
  return {
    duration: (value, unit) => new Intl.NumberFormat(tag, { style: 'unit', unit, unitDisplay: 'long' }).format(value),
    moment: new Intl.DateTimeFormat(tag, {
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZone: 'UTC',
      timeZoneName: 'short',
    }).format(SAMPLE_MOMENT),
  };
}

/** What a real send of each built-in template carries, so previews and screenshots show the real thing. */
// Link and code together, so a preview shows both parts; a real send may carry only one (flows.*.delivery).
const builtInSamples = ({ duration, moment }: ReturnType<typeof inLocale>): Record<string, TemplateContext> => ({
  'verify-email': { name: SAMPLE_NAME, link: 'https://app.example.com/verify-email?token=preview-token', code: '284913', expiresIn: duration(24, 'hour') },
  welcome: { name: SAMPLE_NAME, link: 'https://app.example.com' },
  'reset-password': { name: SAMPLE_NAME, link: 'https://app.example.com/reset-password?token=preview-token', code: '730256', expiresIn: duration(1, 'hour') },
  'password-changed': { name: SAMPLE_NAME, changedAt: moment, link: 'https://app.example.com/forgot-password' },
  'test-email': {},
  'sign-in': { name: SAMPLE_NAME, link: 'https://app.example.com/sign-in?token=preview-token', code: '519407', expiresIn: duration(15, 'minute') },
  'confirm-email-change': {
    name: SAMPLE_NAME,
    newEmail: 'ada@newmail.example',
    link: 'https://app.example.com/confirm-email-change?token=preview-token',
    expiresIn: duration(1, 'hour'),
  },
  'email-change-requested': {
    name: SAMPLE_NAME,
    newEmail: 'ada@newmail.example',
    link: 'https://app.example.com/revert-email-change?token=preview-token',
    expiresIn: duration(7, 'day'),
  },
  'new-sign-in': {
    name: SAMPLE_NAME,
    when: moment,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0',
    device: { browser: 'Firefox', system: 'macOS' },
    link: 'https://app.example.com/forgot-password',
  },
});

/** Sample context for a template: its built-in sample, plus `[variable]` for any other variable it requires. */
export function sampleContextFor(template: CompiledTemplate, brand: TemplateContext): TemplateContext {
  const context: TemplateContext = { name: SAMPLE_NAME, ...builtInSamples(inLocale(template.locale))[template.name], brand };
  for (const variable of template.requiredVariables) {
    const path = variable.split(/[./]/);
    let target = context;
    path.slice(0, -1).forEach((key) => {
      target[key] = typeof target[key] === 'object' && target[key] !== null ? target[key] : {};
      target = target[key] as TemplateContext;
    });
    const last = path[path.length - 1];
    if (target[last] == null) target[last] = `[${variable}]`;
  }
  return context;
}

/** What the workflow puts in `brand` (see BrandOptions): every template may use these. */
const BRAND_VARIABLES = ['brand', 'brand.name', 'brand.logoUrl', 'brand.primaryColor', 'brand.supportEmail', 'brand.postalAddress'];

/** Dotted paths of a context's values and objects: `device`, `device.browser`. */
function pathsOf(context: TemplateContext, prefix = ''): string[] {
  return Object.entries(context).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    return typeof value === 'object' && value !== null ? [path, ...pathsOf(value as TemplateContext, `${path}.`)] : [path];
  });
}

/**
 * The variables a built-in's sends carry (its samples are what a real send carries), brand included;
 * undefined for a template that is not built in, whose variables only the app knows.
 */
export function declaredVariables(name: string): string[] | undefined {
  const samples = builtInSamples(inLocale('en'));
  const sample = Object.hasOwn(samples, name) ? samples[name] : undefined;
  return sample ? [...new Set(['name', ...pathsOf(sample), ...BRAND_VARIABLES])] : undefined;
}

/** Sample values of a built-in, in `locale`; {} for any other template. */
export function builtInSample(name: string, locale: string): TemplateContext {
  const samples = builtInSamples(inLocale(locale));
  return Object.hasOwn(samples, name) ? samples[name] : {};
}
