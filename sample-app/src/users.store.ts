import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { EmailUser, EmailUserDirectory } from 'nestjs-email-workflow';
import { Repository } from 'typeorm';
import { UserRow } from './database/entities';
import { isUniqueViolation } from './database/unique-violation';
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

/** updateEmail's refusal when another account holds the address: the library then changes nothing and keeps the link usable. */
export class EmailTakenError extends Error {
  readonly code = 'SAMPLE_EMAIL_TAKEN';
  constructor() {
    super('That address belongs to another account.');
  }
}

/**
 * The users, in the sample's database (SQLite or PostgreSQL, see database/), and the library's
 * EmailUserDirectory over them. Addresses are unique as the database compares them (its unique
 * index), and every lookup compares the same way: the index, not a read before the write, decides a
 * clash, so two requests at once cannot both take an address.
 */
@Injectable()
export class UsersStore implements EmailUserDirectory {
  /** Compared against when an address is unknown, so a sign-in takes as long either way. */
  private readonly decoyHash = hashPassword(randomUUID());

  constructor(@InjectRepository(UserRow) private readonly users: Repository<UserRow>) {}

  /** Creates an unverified user; undefined when the address is taken. */
  async create(name: string, email: string, password: string, locale: LanguageTag = DEFAULT_LANGUAGE): Promise<SampleUser | undefined> {
    const row: UserRow = { id: randomUUID(), name, email: normaliseEmail(email), emailVerified: false, locale, passwordHash: await hashPassword(password), createdAt: Date.now() };
    try {
      await this.users.insert(row);
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
    return publicView(row);
  }

  async delete(id: string): Promise<void> {
    await this.users.delete({ id });
  }

  /** The user whose address and password match, or undefined; as slow for an unknown address. */
  async authenticate(email: string, password: string): Promise<SampleUser | undefined> {
    const row = await this.users.findOneBy({ email: normaliseEmail(email) });
    const matches = await verifyPassword(password, row?.passwordHash ?? (await this.decoyHash));
    return row && matches ? publicView(row) : undefined;
  }

  async setPassword(id: string, password: string): Promise<void> {
    await this.updateExisting(id, { passwordHash: await hashPassword(password) });
  }

  async setLocale(id: string, locale: LanguageTag): Promise<void> {
    await this.updateExisting(id, { locale });
  }

  async get(id: string): Promise<SampleUser | undefined> {
    const row = await this.users.findOneBy({ id });
    return row ? publicView(row) : undefined;
  }

  // --- EmailUserDirectory: what the library looks up ---------------------------------------------

  /** Undefined for an unknown address; any spelling the database matches finds the one account. */
  async findByEmail(email: string): Promise<EmailUser | undefined> {
    const row = await this.users.findOneBy({ email: normaliseEmail(email) });
    return row ? publicView(row) : undefined;
  }

  async findById(id: string): Promise<EmailUser | undefined> {
    return this.get(id);
  }

  /** One UPDATE: atomic, and a second call (a link used twice at once) changes nothing more. */
  async markEmailVerified(id: string): Promise<void> {
    await this.users.update({ id }, { emailVerified: true });
  }

  /** One UPDATE under the unique index: a clash throws EmailTakenError and leaves both accounts as they were. */
  async updateEmail(id: string, email: string): Promise<void> {
    try {
      await this.updateExisting(id, { email: normaliseEmail(email) });
    } catch (error) {
      if (isUniqueViolation(error)) throw new EmailTakenError();
      throw error;
    }
  }

  private async updateExisting(id: string, change: Partial<UserRow>): Promise<void> {
    const result = await this.users.update({ id }, change);
    if (result.affected === 0) throw new Error(`no user ${id}`);
  }
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A copy without the password hash: nothing outside the store ever holds it. */
function publicView({ id, name, email, emailVerified, locale, createdAt }: UserRow): SampleUser {
  return { id, name, email, emailVerified, locale: locale as LanguageTag, createdAt: new Date(createdAt) };
}
