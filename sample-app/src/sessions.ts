import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { readSettings } from './settings';

const COOKIE = 'sid';
const LIFETIME_MS = 8 * 60 * 60 * 1000;

interface Session {
  userId: string;
  expiresAt: number;
}

/**
 * Sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure when APP_URL is https),
 * mapped to the user in this process's memory (a demo store, like the users).
 */
@Injectable()
export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly secure: boolean;

  constructor(config: ConfigService) {
    this.secure = readSettings(config).appUrl.startsWith('https:');
  }

  /** Starts a new session for the user (never reusing the id the browser sent) and sets the cookie. */
  signIn(res: Response, req: Request, userId: string): void {
    this.drop(req);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { userId, expiresAt: Date.now() + LIFETIME_MS });
    res.setHeader('Set-Cookie', this.cookie(id, LIFETIME_MS / 1000));
  }

  signOut(res: Response, req: Request): void {
    this.drop(req);
    res.setHeader('Set-Cookie', this.cookie('', 0));
  }

  /** The signed-in user's id, or undefined. */
  userId(req: Request): string | undefined {
    const id = sessionId(req);
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) return undefined;
    if (session.expiresAt <= Date.now()) {
      this.sessions.delete(id!);
      return undefined;
    }
    return session.userId;
  }

  /** Ends every session of a user, e.g. after their password changed. */
  endAllFor(userId: string): void {
    for (const [id, session] of this.sessions) if (session.userId === userId) this.sessions.delete(id);
  }

  private drop(req: Request): void {
    const id = sessionId(req);
    if (id) this.sessions.delete(id);
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return `${COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`;
  }
}

function sessionId(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}
