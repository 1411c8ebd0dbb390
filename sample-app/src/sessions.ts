import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { Request, Response } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { LessThanOrEqual, Repository } from 'typeorm';
import { SessionRow } from './database/entities';
import { readSettings } from './settings';

const COOKIE = 'sid';
const LIFETIME_MS = 8 * 60 * 60 * 1000;

/**
 * Sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure when APP_URL is https),
 * kept in the database as its SHA-256 with the user and expiry, so they outlast a restart and a
 * copy of the table signs nobody in.
 */
@Injectable()
export class Sessions {
  private readonly secure: boolean;

  constructor(
    config: ConfigService,
    @InjectRepository(SessionRow) private readonly sessions: Repository<SessionRow>,
  ) {
    this.secure = readSettings(config).appUrl.startsWith('https:');
  }

  /** Starts a new session for the user (never reusing the id the browser sent) and sets the cookie. */
  async signIn(res: Response, req: Request, userId: string): Promise<void> {
    await this.drop(req);
    const id = randomBytes(32).toString('base64url');
    await this.sessions.delete({ expiresAt: LessThanOrEqual(Date.now()) });
    await this.sessions.insert({ idHash: hashOf(id), userId, expiresAt: Date.now() + LIFETIME_MS });
    res.setHeader('Set-Cookie', this.cookie(id, LIFETIME_MS / 1000));
  }

  async signOut(res: Response, req: Request): Promise<void> {
    await this.drop(req);
    res.setHeader('Set-Cookie', this.cookie('', 0));
  }

  /** The signed-in user's id, or undefined. */
  async userId(req: Request): Promise<string | undefined> {
    const id = sessionId(req);
    const session = id ? await this.sessions.findOneBy({ idHash: hashOf(id) }) : null;
    return session && session.expiresAt > Date.now() ? session.userId : undefined;
  }

  /** Ends every session of a user, e.g. after their password changed. */
  async endAllFor(userId: string): Promise<void> {
    await this.sessions.delete({ userId });
  }

  private async drop(req: Request): Promise<void> {
    const id = sessionId(req);
    if (id) await this.sessions.delete({ idHash: hashOf(id) });
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return `${COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`;
  }
}

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function sessionId(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}
