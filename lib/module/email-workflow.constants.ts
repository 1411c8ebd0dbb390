export const EMAIL_WORKFLOW_MODULE_OPTIONS = 'EMAIL_WORKFLOW:MODULE_OPTIONS';
/** Every concern's resolved settings at once: internal to the module, which hands each concern its own. */
export const EMAIL_WORKFLOW_SETTINGS = 'EMAIL_WORKFLOW:SETTINGS';
