import { Type } from 'class-transformer';
import { IsDefined, IsOptional, registerDecorator, ValidateNested } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, rule } from '../errors/options.validator';
import { isValidMailbox } from '../transport/email-address';

function isLinkTemplate(value: unknown): boolean {
  if (typeof value !== 'string' || !value.includes('{token}')) return false;
  let url: URL;
  try {
    url = new URL(value.replace('{token}', 'token-placeholder'));
  } catch {
    return false;
  }
  if (url.host.includes('token-placeholder')) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
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

function IsMailbox(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isMailbox',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule(
        'must be one email address, optionally with a display name',
        'use "Acme <no-reply@acme.com>" or "no-reply@acme.com"',
      ),
      validator: { validate: (value: unknown) => typeof value === 'string' && isValidMailbox(value) },
    });
}

class LinksDto {
  @IsLinkTemplate()
  verifyEmail!: string;

  @IsLinkTemplate()
  resetPassword!: string;
}

class WorkflowOptionsDto {
  @IsMailbox()
  from!: string;

  @IsOptional()
  @IsMailbox()
  replyTo?: string;

  @IsDefined(rule('is required', 'set links: { verifyEmail, resetPassword } with {token} in each URL'))
  @ValidateNested()
  @Type(() => LinksDto)
  links!: LinksDto;
}

/** Problems of `from`, `replyTo`, `links` and of a `users` directory that lacks a method. */
export function workflowOptionsProblems({ from, replyTo, links, users }: { from: unknown; replyTo?: unknown; links: unknown; users?: unknown }): OptionsProblem[] {
  return [
    ...dtoProblems(WorkflowOptionsDto, { from, replyTo, links }),
    ...missingMethods('users', users, ['findByEmail', 'findById', 'markEmailVerified']),
  ];
}
