import { Type } from 'class-transformer';
import { IsDefined, IsOptional, registerDecorator, ValidateNested } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, rule } from '../options/options.validator';

function isLinkTemplate(value: unknown): boolean {
  if (typeof value !== 'string' || !value.includes('{token}')) return false;
  const url = absoluteUrl(value.replace('{token}', 'token-placeholder'));
  return url !== undefined && !url.host.includes('token-placeholder');
}

/** A page link without a token, e.g. links.forgotPassword: held to the same URL rules. */
function isPageLink(value: unknown): boolean {
  return typeof value === 'string' && !value.includes('{token}') && absoluteUrl(value) !== undefined;
}

/** The URL if it is absolute https, or http on the loopback host. */
function absoluteUrl(value: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol === 'https:') return url;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) ? url : undefined;
}

function IsLinkTemplate(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isLinkTemplate',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule(
        'must be an absolute https URL containing {token} (http is allowed only for localhost and 127.0.0.1)',
        `use a URL such as "https://app.example.com/${String(propertyName)}?token={token}"`,
      ),
      validator: { validate: isLinkTemplate },
    });
}

function IsPageLink(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPageLink',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule(
        'must be an absolute https URL without {token} (http is allowed only for localhost and 127.0.0.1)',
        'use a URL such as "https://app.example.com/forgot-password"',
      ),
      validator: { validate: isPageLink },
    });
}

class LinksDto {
  @IsLinkTemplate()
  verifyEmail!: string;

  @IsLinkTemplate()
  resetPassword!: string;

  @IsOptional()
  @IsPageLink()
  forgotPassword?: string;

  @IsOptional()
  @IsLinkTemplate()
  signIn?: string;

  @IsOptional()
  @IsLinkTemplate()
  confirmEmailChange?: string;

  @IsOptional()
  @IsLinkTemplate()
  revertEmailChange?: string;

  @IsOptional()
  @IsPageLink()
  secureAccount?: string;
}

class WorkflowOptionsDto {
  @IsDefined(rule('is required', 'set links: { verifyEmail, resetPassword } with {token} in each URL'))
  @ValidateNested()
  @Type(() => LinksDto)
  links!: LinksDto;
}

/** Problems of `links` and of a `users` directory that lacks a method. */
export function workflowOptionsProblems({ links, users }: { links: unknown; users?: unknown }): OptionsProblem[] {
  return [
    ...dtoProblems(WorkflowOptionsDto, { links }),
    ...missingMethods('users', users, ['findByEmail', 'findById', 'markEmailVerified']),
  ];
}
