import { Injectable, Module } from '@nestjs/common';
import type { EmailUser, EmailUserDirectory } from 'nestjs-email-workflow';

/** An app's users in memory: the `EmailUserDirectory` the workflow looks them up in. Hands out copies. */
@Injectable()
export class InMemoryUsers implements EmailUserDirectory {
  private readonly users = new Map<string, EmailUser>();
  /** Every address looked up, in order: lets a test wait until a lookup that finds nobody is done. */
  readonly lookups: string[] = [];

  add(user: EmailUser): EmailUser {
    this.users.set(user.id, { ...user });
    return { ...user };
  }

  async findByEmail(email: string): Promise<EmailUser | undefined> {
    this.lookups.push(email);
    const user = [...this.users.values()].find((candidate) => candidate.email.toLowerCase() === email.toLowerCase());
    return user && { ...user };
  }

  async findById(id: string): Promise<EmailUser | undefined> {
    const user = this.users.get(id);
    return user && { ...user };
  }

  async markEmailVerified(id: string): Promise<void> {
    const user = this.users.get(id);
    if (user) user.emailVerified = true;
  }

  async updateEmail(id: string, email: string): Promise<void> {
    this.changeEmail(id, email);
  }

  /** The user's address changes, as when they edit it in their profile. */
  changeEmail(id: string, email: string): void {
    const user = this.users.get(id);
    if (user) user.email = email;
  }
}

/** Provides one `InMemoryUsers`, for `forRootAsync({ imports: [InMemoryUsersModule], inject: [InMemoryUsers] })`. */
@Module({ providers: [InMemoryUsers], exports: [InMemoryUsers] })
export class InMemoryUsersModule {}
