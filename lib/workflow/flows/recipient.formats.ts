/** Formats dates and durations for a recipient's locale, so built-in emails read in their language. */

const MOMENT: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' };

/** The recipient's locale if `Intl` knows it, else the default, else English: a bad tag never stops an email. */
function usableLocale(locale: string | undefined, defaultLocale: string): string {
  for (const candidate of [locale, defaultLocale]) {
    if (typeof candidate !== 'string') continue;
    try {
      if (Intl.DateTimeFormat.supportedLocalesOf(candidate).length > 0) return candidate;
    } catch {
      // A malformed tag: try the next one.
    }
  }
  return 'en';
}

/**
 * A moment, e.g. "December 1, 2026 at 11:20 PM UTC" / "1 décembre 2026 à 23:20 UTC". In UTC, named,
 * since the workflow does not know the recipient's time zone. (Intl refuses `timeZoneName` with
 * `dateStyle`, hence the fields one by one.)
 */
export function formatMoment(date: Date, locale: string | undefined, defaultLocale: string): string {
  return new Intl.DateTimeFormat(usableLocale(locale, defaultLocale), MOMENT).format(date);
}

/** A token's lifetime in its largest whole unit, e.g. "24 hours" / "24 heures", "2 days", "30 minutes". */
export function formatDuration(seconds: number, locale: string | undefined, defaultLocale: string): string {
  const [value, unit] =
    seconds % 86_400 === 0 && seconds >= 172_800
      ? [seconds / 86_400, 'day']
      : seconds % 3_600 === 0
        ? [seconds / 3_600, 'hour']
        : [Math.max(1, Math.round(seconds / 60)), 'minute'];
  return new Intl.NumberFormat(usableLocale(locale, defaultLocale), { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}
