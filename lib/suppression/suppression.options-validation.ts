import { IsArray, IsOptional, IsString, Matches } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, NestedOptions, rule } from '../options/options.validator';

/** A permanent code: enhanced '5.1.1', class '5.7' or reply '554'. */
export const PERMANENT_CODE = /^(?:5\.\d{1,3}(?:\.\d{1,3})?|5\d\d)$/;

const CODES = rule(
  'must be a list of permanent SMTP codes',
  "use enhanced codes such as '5.7.1', classes such as '5.7' or reply codes such as '554' (4xx codes are retried, never suppressed)",
);
const TEMPLATES = rule('must be a list of template names', "use e.g. ['reset-password'], or [] to suppress every template");

class SuppressionDto {
  @IsOptional() @IsArray(CODES) @IsString({ ...CODES, each: true }) @Matches(PERMANENT_CODE, { ...CODES, each: true }) codes?: string[];
  @IsOptional() @IsArray(TEMPLATES) @IsString({ ...TEMPLATES, each: true }) bypassTemplates?: string[];
}

class SuppressionOptionsDto {
  @NestedOptions(() => SuppressionDto) suppression?: SuppressionDto;
}

/** Problems of `suppression`, each naming the field and the fix. */
export function suppressionOptionsProblems(suppression: unknown): OptionsProblem[] {
  return dtoProblems(SuppressionOptionsDto, { suppression });
}
