export { TemplateRegistry, BUILT_IN_TEMPLATES_DIR } from './template.registry';
export type { TemplateRegistrySettings } from './template.registry';
export type { RenderedEmail, TemplateContext, CompiledTemplate } from './template.compiler';
