import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EmailUser, EmailUserDirectory } from 'nestjs-email-workflow';
import { DEFAULT_LANGUAGE, LanguageTag } from './languages';
import { hashPassword, verifyPassword } from './passwords';

export interface SampleUser {
  id: string;
  name: string;
  email: string;
  emailVerified: boolean;
  /** The language of the user's emails (EmailUser.locale). */
  locale: LanguageTag;
  createdAt: Date;
}

interface StoredUser extends SampleUser {
  passwordHash: string;
}

/**
 * DEMO STORE: users live in this process's memory and are gone on restart. A real app keeps them in
 * its database; the library needs the EmailUserDirectory methods (updateEmail for the email change).
 */
@Injectable()
export class UsersStore implements EmailUserDirectory {
  private readonly byId = new Map<string, StoredUser>();
  /** Compared against when an address is unknown, so a sign-in takes as long either way. */
  private readonly decoyHash = hashPassword(randomUUID());

  /** Creates an unverified user; undefined when the address is taken. */
  async create(name: string, email: string, password: string, locale: LanguageTag = DEFAULT_LANGUAGE): Promise<SampleUser | undefined> {
    const address = normaliseEmail(email);
    const passwordHash = await hashPassword(password);
    if (this.findStored(address)) return undefined;
    const user: StoredUser = { id: randomUUID(), name, email: address, emailVerified: false, locale, createdAt: new Date(), passwordHash };
    this.byId.set(user.id, user);
    return publicView(user);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** The user whose address and password match, or undefined; as slow for an unknown address. */
  async authenticate(email: string, password: string): Promise<SampleUser | undefined> {
    const user = this.findStored(normaliseEmail(email));
    const matches = await verifyPassword(password, user?.passwordHash ?? (await this.decoyHash));
    return user && matches ? publicView(user) : undefined;
  }

  async setPassword(id: string, password: string): Promise<void> {
    const user = this.byId.get(id);
    if (!user) throw new Error(`no user ${id}`);
    user.passwordHash = await hashPassword(password);
  }

  setLocale(id: string, locale: LanguageTag): void {
    const user = this.byId.get(id);
    if (!user) throw new Error(`no user ${id}`);
    user.locale = locale;
  }

  get(id: string): SampleUser | undefined {
    const user = this.byId.get(id);
    return user && publicView(user);
  }

  // --- EmailUserDirectory: what the library looks up ---------------------------------------------

  async findByEmail(email: string): Promise<EmailUser | undefined> {
    const user = this.findStored(normaliseEmail(email));
    return user && publicView(user);
  }

  async findById(id: string): Promise<EmailUser | undefined> {
    return this.get(id);
  }

  async markEmailVerified(id: string): Promise<void> {
    const user = this.byId.get(id);
    if (user) user.emailVerified = true;
  }

  /** Addresses are unique here as in a database: a clash throws, so the library leaves the link usable. */
  async updateEmail(id: string, email: string): Promise<void> {
    const user = this.byId.get(id);
    if (!user) throw new Error(`no user ${id}`);
    const address = normaliseEmail(email);
    const holder = this.findStored(address);
    if (holder && holder.id !== id) throw new Error('that address belongs to another account');
    user.email = address;
  }

  private findStored(address: string): StoredUser | undefined {
    for (const user of this.byId.values()) if (user.email === address) return user;
    return undefined;
  }
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A copy without the password hash: nothing outside the store ever holds it. */
function publicView({ passwordHash: _hash, ...user }: StoredUser): SampleUser {
  return { ...user };
}
