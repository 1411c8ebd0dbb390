import { Inject, Injectable } from '@nestjs/common';
import { previewTemplates, sampleContextFor, TEMPLATE_SETTINGS } from '../templates';
import type { TemplatePreview, TemplateSettings } from '../templates';

/** Every template and locale rendered with sample data, for the dev inbox's template pages. */
@Injectable()
export class TemplatePreviews {
  constructor(@Inject(TEMPLATE_SETTINGS) private readonly settings: TemplateSettings) {}

  /** See `EmailWorkflowService.previewTemplates`. */
  preview(): Promise<TemplatePreview[]> {
    return previewTemplates(this.settings.registry, (template) => sampleContextFor(template, { ...this.settings.brand }));
  }
}
