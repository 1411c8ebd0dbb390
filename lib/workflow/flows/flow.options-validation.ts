import { IsIn, IsOptional } from 'class-validator';
import type { OptionsProblem } from '../../errors';
import { dtoProblems, NestedOptions, rule, WholeNumber } from '../../options/options.validator';

const SECONDS = 'must be a whole number of seconds, 1 or more';
const DELIVERY = rule('must be "link", "code" or "both"', 'use e.g. "both" to send a code beside the link');

class RateLimitRuleDto {
  @WholeNumber(1, 'must be a whole number of 1 or more', 'use e.g. 5', true) limit!: number;
  @WholeNumber(1, SECONDS, 'use e.g. 3600', true) windowSeconds!: number;
}

class VerifyLimitsDto {
  @NestedOptions(() => RateLimitRuleDto) perAddress?: RateLimitRuleDto;
  @NestedOptions(() => RateLimitRuleDto) startPerAddress?: RateLimitRuleDto;
}

class RequestLimitsDto {
  @NestedOptions(() => RateLimitRuleDto) perAddress?: RateLimitRuleDto;
  @NestedOptions(() => RateLimitRuleDto) perIp?: RateLimitRuleDto;
}

class UserLimitsDto {
  @NestedOptions(() => RateLimitRuleDto) perUser?: RateLimitRuleDto;
}

class VerifyFlowDto {
  @WholeNumber(1, SECONDS, 'use e.g. 86400 (24 hours)') ttl?: number;
  @IsOptional() @IsIn(['link', 'code', 'both'], DELIVERY) delivery?: string;
  @NestedOptions(() => VerifyLimitsDto) limits?: VerifyLimitsDto;
}

class RequestFlowDto {
  @WholeNumber(1, SECONDS, 'use e.g. 3600 (1 hour)') ttl?: number;
  @IsOptional() @IsIn(['link', 'code', 'both'], DELIVERY) delivery?: string;
  @NestedOptions(() => RequestLimitsDto) limits?: RequestLimitsDto;
}

class ChangeEmailLimitsDto {
  @NestedOptions(() => RateLimitRuleDto) perUser?: RateLimitRuleDto;
  @NestedOptions(() => RateLimitRuleDto) perNewAddress?: RateLimitRuleDto;
}

class ChangeEmailFlowDto {
  @WholeNumber(1, SECONDS, 'use e.g. 3600 (1 hour)') ttl?: number;
  @WholeNumber(1, SECONDS, 'use e.g. 604800 (7 days)') revertTtl?: number;
  @NestedOptions(() => ChangeEmailLimitsDto) limits?: ChangeEmailLimitsDto;
}

class NoticeFlowDto {
  @NestedOptions(() => UserLimitsDto) limits?: UserLimitsDto;
}

class FlowsDto {
  @NestedOptions(() => VerifyFlowDto) verifyEmail?: VerifyFlowDto;
  @NestedOptions(() => RequestFlowDto) resetPassword?: RequestFlowDto;
  @NestedOptions(() => RequestFlowDto) signIn?: RequestFlowDto;
  @NestedOptions(() => ChangeEmailFlowDto) changeEmail?: ChangeEmailFlowDto;
  @NestedOptions(() => NoticeFlowDto) newSignIn?: NoticeFlowDto;
}

class FlowOptionsDto {
  @NestedOptions(() => FlowsDto) flows?: FlowsDto;
}

/** A flow given in `flows` needs the links its emails carry: name each missing one. */
function missingLinkProblems(flows: Record<string, unknown>, links: Record<string, unknown>): OptionsProblem[] {
  const needed: string[] = [];
  const signIn = flows.signIn as { delivery?: unknown } | undefined;
  if (signIn !== undefined && signIn?.delivery !== 'code') needed.push('signIn');
  if (flows.changeEmail !== undefined) needed.push('confirmEmailChange', 'revertEmailChange');
  return needed
    .filter((link) => links[link] === undefined)
    .map((link) => ({
      path: `links.${link}`,
      problem: `is required when flows.${link === 'signIn' ? 'signIn' : 'changeEmail'} is set`,
      fix: `set links.${link} to an absolute URL with {token}, e.g. "https://app.example.com/${link}?token={token}"`,
    }));
}

/** Problems of `flows`, and of a flow set without the links it needs. */
export function flowOptionsProblems(flows: unknown, links: unknown): OptionsProblem[] {
  const problems = dtoProblems(FlowOptionsDto, { flows });
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
  // Without a links object the workflow concern reports it; naming each missing link would only repeat that.
  if (!isObject(flows) || !isObject(links)) return problems;
  return [...problems, ...missingLinkProblems(flows, links)];
}
