/**
 * The languages the library's built-in emails are written in. A user picks one (sign-up form or
 * account page); the store keeps it as the user's `locale`, which the library uses for their emails.
 * The sample's own pages stay in English: translating them is the app's business, not the library's.
 */
export const LANGUAGES = [
  { tag: 'en', label: 'English' },
  { tag: 'fr', label: 'Français' },
  { tag: 'de', label: 'Deutsch' },
  { tag: 'es', label: 'Español' },
  { tag: 'pt-BR', label: 'Português (Brasil)' },
] as const;

export type LanguageTag = (typeof LANGUAGES)[number]['tag'];

export const DEFAULT_LANGUAGE: LanguageTag = 'en';

/** The tag of a form field's value, or undefined for anything that is not one of ours. */
export function languageFrom(value: unknown): LanguageTag | undefined {
  return LANGUAGES.find((language) => language.tag === value)?.tag;
}
