import type { CompiledTemplate, TemplateContext } from './template.compiler';

/** Realistic values for the built-in templates' variables, for previews and screenshots. */
const BUILT_IN_SAMPLES: TemplateContext = {
  name: 'Ada Lovelace',
  link: 'https://app.example.com/verify-email?token=preview-token',
  expiresIn: '24 hours',
  changedAt: 'Mon, 23 Nov 2026 09:30:00 GMT',
};

/** Sample context for a template: the built-in samples, plus `[variable]` for any other variable it requires. */
export function sampleContextFor(template: CompiledTemplate, brand: TemplateContext): TemplateContext {
  const context: TemplateContext = { ...BUILT_IN_SAMPLES, brand };
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
