export const ON_EMAIL_EVENT_METADATA = 'EMAIL_WORKFLOW:ON_EMAIL_EVENT';
export const BEFORE_EMAIL_SEND_METADATA = 'EMAIL_WORKFLOW:BEFORE_EMAIL_SEND';
/** A before-send hook registered for every template. */
export const ALL_TEMPLATES = '*';
