import { Allow, IsBoolean, IsIn, IsOptional, IsString, MinLength, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import type { OptionsProblem } from '../errors';
import { dtoProblems, NestedOptions, rule, WholeNumber } from '../options/options.validator';
import { ENVELOPE_TAG_LENGTH } from '../crypto';

/** The longest local part of `bounces.address`: `+` and the tag must still fit SMTP's 64 characters. */
const MAX_BOUNCE_LOCAL_PART = 64 - 1 - ENVELOPE_TAG_LENGTH;

class ImapAuthDto {
  @IsString(rule('must be text', 'use the bounce mailbox login')) @MinLength(1, rule('must not be empty', 'use the bounce mailbox login')) user!: string;
  @IsString(rule('must be text', 'use the bounce mailbox password')) @MinLength(1, rule('must not be empty', 'use the bounce mailbox password')) pass!: string;
}

class ImapTlsDto {
  @IsOptional() @Allow() ca?: string | Buffer;
  @IsOptional() @IsBoolean(rule('must be true or false', 'leave it out; false only for a test server')) rejectUnauthorized?: boolean;
  @IsOptional() @IsString(rule('must be text', 'use the name on the server certificate')) servername?: string;
}

class ImapDto {
  @IsString(rule('must be a host name', 'use e.g. "imap.acme.com"')) @MinLength(1, rule('must be a host name', 'use e.g. "imap.acme.com"')) host!: string;
  @WholeNumber(1, 'must be a port number', 'use 993 (TLS) or 143 (STARTTLS)') port?: number;
  @IsOptional() @IsBoolean(rule('must be true or false', 'true for port 993, false for STARTTLS on 143')) secure?: boolean;
  @IsOptional() @IsBoolean(rule('must be true or false', 'leave it out: STARTTLS is required except on loopback')) starttls?: boolean;
  @ValidateNested() @Type(() => ImapAuthDto) auth!: ImapAuthDto;
  @NestedOptions(() => ImapTlsDto) tls?: ImapTlsDto;
  @IsOptional() @IsString(rule('must be a mailbox name', 'use e.g. "INBOX"')) mailbox?: string;
  @WholeNumber(1000, 'must be a number of milliseconds, 1000 or more', 'use e.g. 60000') pollInterval?: number;
  @IsOptional() @IsIn(['delete', 'move'], rule('must be "delete" or "move"', 'use "move" to keep reports in moveTo')) afterProcessing?: string;
  @IsOptional() @IsString(rule('must be a mailbox name', 'use e.g. "processed"')) moveTo?: string;
}

class BounceDto {
  @IsOptional() @IsString(rule('must be an email address', 'use e.g. "bounces@acme.com"')) address?: string;
  @NestedOptions(() => ImapDto) imap?: ImapDto;
}

class BounceOptionsDto {
  @NestedOptions(() => BounceDto) bounces?: BounceDto;
}

/** The bounce address must be plain and short enough for `+tag`: nodemailer would refuse it at the first send otherwise. */
function addressProblems(address: unknown): OptionsProblem[] {
  if (typeof address !== 'string') return [];
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (at <= 0 || !/^[A-Za-z0-9.!#$%&'*/=?^_`{|}~-]+$/.test(local) || !/^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(domain) || local.includes('+')) {
    return [{ path: 'bounces.address', problem: 'must be a plain address without "+" or a display name', fix: 'use e.g. "bounces@acme.com"' }];
  }
  if (local.length > MAX_BOUNCE_LOCAL_PART) {
    return [{ path: 'bounces.address', problem: `has a local part longer than ${MAX_BOUNCE_LOCAL_PART} characters: "+" and the tag would not fit in 64`, fix: 'use a short one such as "bounces@acme.com"' }];
  }
  return [];
}

/** Problems of `bounces`, each naming the field and the fix. */
export function bounceOptionsProblems(bounces: unknown): OptionsProblem[] {
  const problems = dtoProblems(BounceOptionsDto, { bounces });
  if (typeof bounces === 'object' && bounces !== null) {
    const { address, imap } = bounces as { address?: unknown; imap?: { afterProcessing?: unknown } };
    problems.push(...addressProblems(address));
    if (imap !== undefined && address === undefined) {
      problems.push({
        path: 'bounces.imap',
        problem: 'is set without bounces.address: reports could not be told from forgeries',
        fix: 'set bounces.address to the address of that mailbox, e.g. "bounces@acme.com"',
      });
    }
  }
  return problems;
}
