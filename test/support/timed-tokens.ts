import { EmailTokens } from '../../lib/tokens';
import type { TokenPurpose, TokenStore } from '../../lib/tokens';
import type { EmailTokensOptions, IssueOptions } from '../../lib/tokens/email-tokens';

/** EmailTokens with a lifetime per purpose, as the flows pass it, so a test issues a token with just (user, purpose). */
export class TimedTokens extends EmailTokens {
  constructor(
    store: TokenStore,
    key: Buffer,
    private readonly ttl: Partial<Record<TokenPurpose, number>> = {},
    options: EmailTokensOptions = {},
  ) {
    super(store, key, options);
  }

  override issue(user: { id: string; email: string }, purpose: TokenPurpose, ttlSeconds = this.ttl[purpose] ?? 3_600, options: IssueOptions = {}): Promise<{ token: string; expiresAt: Date }> {
    return super.issue(user, purpose, ttlSeconds, options);
  }
}
