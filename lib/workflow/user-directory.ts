/** A user as the email workflow sees it. */
export interface EmailUser {
  id: string;
  email: string;
  name?: string;
  /** Locale tag for the user's emails, e.g. `fr` or `pt-BR`. */
  locale?: string;
  emailVerified?: boolean;
}

/**
 * Your user store, as the workflow needs it. Pass it as the `users` option (inject your service in
 * `forRootAsync`) or provide it under `EMAIL_USER_DIRECTORY`.
 *
 * @example
 * @Injectable()
 * export class UsersDirectory implements EmailUserDirectory {
 *   constructor(private readonly users: UsersRepository) {}
 *   findByEmail(email: string) { return this.users.findOneBy({ email }); }
 *   findById(id: string) { return this.users.findOneBy({ id }); }
 *   async markEmailVerified(id: string) { await this.users.update(id, { emailVerified: true }); }
 *   async updateEmail(id: string, email: string) { await this.users.update(id, { email }); }
 * }
 */
export interface EmailUserDirectory {
  /** Look-up by address; the workflow passes it trimmed and lower-cased. */
  findByEmail(email: string): Promise<EmailUser | null | undefined>;
  findById(id: string): Promise<EmailUser | null | undefined>;
  markEmailVerified(id: string): Promise<void>;
  /**
   * Sets the user's address, trimmed and lower-cased, for the email-change flow only:
   * `confirmEmailChange` calls it with the new address, `revertEmailChange` with the previous one.
   * Store it as the address `findByEmail` finds the user by. Without it, the email-change methods
   * throw FlowNotConfiguredError. If your store holds addresses unique, let a clash throw: the link
   * then stays usable and nothing else changes.
   */
  updateEmail?(id: string, email: string): Promise<void>;
}

export const EMAIL_USER_DIRECTORY = 'EMAIL_WORKFLOW:USER_DIRECTORY';
