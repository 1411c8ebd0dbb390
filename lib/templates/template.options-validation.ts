import { Type } from 'class-transformer';
import { IsDefined, IsEmail, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateNested } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, NestedOptions, rule } from '../options/options.validator';
import { LAYOUT_COLOUR } from './template.layout';

class BrandDto {
  @IsString(rule('must be your product name', 'set brand.name, e.g. "Acme"'))
  @IsNotEmpty(rule('must be your product name', 'set brand.name, e.g. "Acme"'))
  name!: string;

  @IsOptional()
  @IsUrl({ protocols: ['https'], require_protocol: true }, rule('must be an absolute https URL', 'host the logo over https'))
  logoUrl?: string;

  @IsOptional()
  @Matches(LAYOUT_COLOUR, rule('must be a hex colour, #rgb or #rrggbb', 'use e.g. "#2563eb"'))
  primaryColor?: string;

  @IsOptional()
  @IsEmail({}, rule('must be an email address', 'use e.g. "support@acme.com"'))
  supportEmail?: string;

  @IsOptional()
  @IsString(rule('must be text', 'use e.g. "1 Main St, Springfield"'))
  postalAddress?: string;
}

class TemplatesDto {
  @IsOptional()
  @IsString(rule('must be a folder path', 'use an absolute path, e.g. join(__dirname, "emails")'))
  dir?: string;

  @IsOptional()
  @Matches(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, rule('must be a locale tag', 'use e.g. "en" or "pt-BR"'))
  defaultLocale?: string;

  @IsOptional()
  @IsInt(rule('must be a whole number of milliseconds', 'use e.g. 500'))
  @Min(1, rule('must be at least 1 ms', 'use e.g. 500'))
  @Max(60_000, rule('must be at most 60000 ms: an email waits this long for the store', 'use e.g. 500'))
  storeTimeout?: number;

  @IsOptional()
  @IsInt(rule('must be a whole number of milliseconds', 'use e.g. 60000, or 0 to ask the store at every send'))
  @Min(0, rule('must be 0 or more', 'use e.g. 60000, or 0 to ask the store at every send'))
  @Max(86_400_000, rule('must be at most a day (86400000 ms)', 'use e.g. 60000, and reload() after each edit'))
  cacheTtl?: number;
}

class TemplateOptionsDto {
  @IsDefined(rule('is required', 'set brand: { name: "Acme" }'))
  @ValidateNested()
  @Type(() => BrandDto)
  brand!: BrandDto;

  @NestedOptions(() => TemplatesDto)
  templates?: TemplatesDto;
}

/** Problems of `brand` and `templates`, by path. */
export function templateOptionsProblems(brand: unknown, templates: unknown): OptionsProblem[] {
  const { store, ...rest } = (typeof templates === 'object' && templates !== null ? templates : {}) as { store?: unknown };
  const checked = typeof templates === 'object' && templates !== null ? rest : templates;
  return [...dtoProblems(TemplateOptionsDto, { brand, templates: checked }), ...(store === undefined ? [] : missingMethods('templates.store', store, ['get']))];
}
