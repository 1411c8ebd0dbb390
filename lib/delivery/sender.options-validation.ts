import { IsIn, IsOptional, registerDecorator } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, rule } from '../options/options.validator';
import { isValidMailbox } from '../transport';

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

class SenderOptionsDto {
  @IsMailbox()
  from!: string;

  @IsOptional()
  @IsMailbox()
  replyTo?: string;

  @IsOptional()
  @IsIn(['base64', 'quoted-printable'], rule('must be "base64" or "quoted-printable"', 'use "quoted-printable" for a readable raw source, or leave it out for base64'))
  htmlEncoding?: string;
}

/** Problems of `from`, `replyTo` and `htmlEncoding`. */
export function senderOptionsProblems(options: { from: unknown; replyTo?: unknown; htmlEncoding?: unknown }): OptionsProblem[] {
  return dtoProblems(SenderOptionsDto, options);
}
