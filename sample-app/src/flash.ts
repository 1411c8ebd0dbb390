import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { readSettings } from './settings';
import { seeOther } from './site';

const COOKIE = 'sample_flash';
const LIFETIME_MS = 5 * 60_000;
/** Refused forms kept at once; past it the oldest goes (it would only lose an error message). */
const MAX_ENTRIES = 10_000;

/** What a refused form shows again: its message and the values typed (never a password). */
export interface Refusal {
  error: string;
  values: Record<string, string>;
}

interface Entry extends Refusal {
  form: string;
  expires: number;
}

/**
 * POST-redirect-GET for refused forms: the POST keeps the message and the typed values here, under a
 * random id in a short-lived cookie, and answers 303 to the form's page, whose GET shows them once.
 * The browser's history then holds only GETs: Back or a reload never asks to resubmit a form.
 */
@Injectable()
export class Flash {
  private readonly entries = new Map<string, Entry>();
  private readonly secure: boolean;

  constructor(config: ConfigService) {
    this.secure = readSettings(config).appUrl.startsWith('https:');
  }

  /** Keeps the refusal of `form` and sends the browser (303 See Other) to `location`. */
  refuse(res: Response, location: string, form: string, error: string, values: Record<string, string> = {}): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) if (entry.expires <= now || this.entries.size >= MAX_ENTRIES) this.entries.delete(id);
    const id = randomBytes(16).toString('base64url');
    this.entries.set(id, { form, error, values, expires: now + LIFETIME_MS });
    res.append('Set-Cookie', this.cookie(id, LIFETIME_MS / 1000));
    seeOther(res, location);
  }

  /** The refusal of `form` this browser was sent here with, used up; undefined if none. */
  take(req: Request, res: Response, form: string): Refusal | undefined {
    const id = cookieValue(req);
    const entry = id ? this.entries.get(id) : undefined;
    if (!id || !entry || entry.form !== form) return undefined;
    this.entries.delete(id);
    res.append('Set-Cookie', this.cookie('', 0));
    return entry.expires > Date.now() ? { error: entry.error, values: entry.values } : undefined;
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return `${COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`;
  }
}

function cookieValue(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}
