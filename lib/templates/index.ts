export { TemplateRegistry, BUILT_IN_TEMPLATES_DIR, previewTemplates } from './template.registry';
export type { TemplateRegistrySettings, TemplatePreview } from './template.registry';
export type { RenderedEmail, TemplateContext, CompiledTemplate } from './template.compiler';
export { sampleContextFor } from './template.samples';
