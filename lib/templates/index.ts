export { TemplateRegistry, previewTemplates } from './template.registry';
export type { TemplatePreview } from './template.registry';
export type { RenderedEmail, TemplateContext } from './template.compiler';
export { sampleContextFor } from './template.samples';
export { toLongHexColour } from './template.layout';
export type { TemplateCheckId, TemplateFinding } from './template.findings';
