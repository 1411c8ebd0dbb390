import type { LoggerService } from '@nestjs/common';
import { inspect } from 'node:util';

export interface CapturedLogEntry {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  /** Every other argument (context, stack trace, objects), as text. */
  params: string[];
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.message}\n${value.stack ?? ''}`;
  return inspect(value, { depth: 10, breakLength: Infinity });
}

/** Keeps every line Nest's Logger is given, at every level, for `Test.createTestingModule(...).setLogger()`. */
export class CapturingLogger implements LoggerService {
  readonly entries: CapturedLogEntry[] = [];

  log(message: unknown, ...params: unknown[]): void {
    this.push('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.push('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.push('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.push('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.push('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.push('fatal', message, params);
  }

  /** The messages logged as warnings. */
  warnings(): string[] {
    return this.entries.filter((entry) => entry.level === 'warn').map((entry) => entry.message);
  }

  /** Everything logged, messages and parameters, as one text. */
  text(): string {
    return this.entries.map((entry) => [entry.level, entry.message, ...entry.params].join(' ')).join('\n');
  }

  private push(level: CapturedLogEntry['level'], message: unknown, params: unknown[]): void {
    this.entries.push({ level, message: asText(message), params: params.map(asText) });
  }
}

/** A logger that drops everything, to keep expected errors out of the test output. */
export class SilentLogger implements LoggerService {
  log(): void {}
  error(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  fatal(): void {}
}
