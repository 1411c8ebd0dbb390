export { TemplateRegistry, previewTemplates } from './template.registry';
export { BUILT_IN_TEMPLATES_DIR } from './template.precompiled';
export type { TemplateRegistrySettings, TemplatePreview } from './template.registry';
export type { RenderedEmail, TemplateContext, CompiledTemplate } from './template.compiler';
export { sampleContextFor } from './template.samples';
export { LAYOUT_COLOUR, toLongHexColour } from './template.layout';
