import type { CompiledTemplate, TemplateContext } from './template.compiler';

const SAMPLE_NAME = 'Ada Lovelace';

/** What a real send of each built-in template carries, so previews and screenshots show the real thing. */
const BUILT_IN_SAMPLES: Record<string, TemplateContext> = {
  'verify-email': { name: SAMPLE_NAME, link: 'https://app.example.com/verify-email?token=preview-token', expiresIn: '24 hours' },
  welcome: { name: SAMPLE_NAME, link: 'https://app.example.com' },
  'reset-password': { name: SAMPLE_NAME, link: 'https://app.example.com/reset-password?token=preview-token', expiresIn: '1 hour' },
  'password-changed': { name: SAMPLE_NAME, changedAt: 'November 23, 2026 at 9:30 AM UTC', link: 'https://app.example.com/forgot-password' },
  'test-email': {},
};

/** Sample context for a template: its built-in sample, plus `[variable]` for any other variable it requires. */
export function sampleContextFor(template: CompiledTemplate, brand: TemplateContext): TemplateContext {
  const context: TemplateContext = { name: SAMPLE_NAME, ...BUILT_IN_SAMPLES[template.name], brand };
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
