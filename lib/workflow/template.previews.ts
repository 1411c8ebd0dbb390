import { Inject, Injectable } from '@nestjs/common';
import { previewTemplates, sampleContextFor } from '../templates';
import type { TemplatePreview } from '../templates';
import { TEMPLATE_SETTINGS } from '../templates/template.options';
import type { TemplateSettings } from '../templates/template.options';

/** Every template and locale rendered with sample data, for the dev inbox's template pages. */
@Injectable()
export class TemplatePreviews {
  constructor(@Inject(TEMPLATE_SETTINGS) private readonly settings: TemplateSettings) {}

  /** See `EmailWorkflowService.previewTemplates`. */
  preview(): Promise<TemplatePreview[]> {
    return previewTemplates(this.settings.registry, (template) => sampleContextFor(template, { ...this.settings.brand }));
  }
}
