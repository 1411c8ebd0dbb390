/**
 * The largest report `parseBounce` reads, in bytes (1 MiB): a bigger one is `null`, unparsed. A bounce
 * returns the headers or a copy of one transactional email, far below this.
 */
export const MAX_BOUNCE_SIZE = 1024 * 1024;

/**
 * The deepest nesting of multiparts `parseBounce` reads, the returned original's counted in: a deeper
 * report is `null`, unparsed. A report with our email inside nests four or five deep.
 */
export const MAX_BOUNCE_MIME_DEPTH = 10;

/** The most recipients a report yields; the rest are dropped. */
export const MAX_BOUNCE_RECIPIENTS = 100;

/** The longest `diagnosticCode` kept, in characters. */
export const MAX_DIAGNOSTIC_LENGTH = 1000;

/** The largest header block of one MIME part of a report (the returned original's headers are its body). */
export const MAX_PART_HEADER_SIZE = 64 * 1024;

/** The most MIME parts a report may have outside the returned original, which is not split. */
export const MAX_REPORT_PARTS = 64;
