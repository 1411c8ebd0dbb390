import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { TokenStore } from 'nestjs-email-workflow';
import { Repository } from 'typeorm';
import { DatabaseTokenStore } from './database-token.store';
import { CounterRow, SettingRow, TokenRow } from './entities';
import { isUniqueViolation } from './unique-violation';

const SECRET_SETTING = 'email-workflow-secret';

/**
 * Without REDIS_URL, what lets a link outlive a restart: the tokens in the database, and a module
 * secret that stays the same (token hashes are keyed by it). Without EMAIL_WORKFLOW_SECRET that is one
 * generated at the first start and kept in the database: fine on a developer's machine, where whoever
 * reads the database owns the accounts anyway; anywhere else set EMAIL_WORKFLOW_SECRET.
 */
@Injectable()
export class EmbeddedTokens {
  private readonly logger = new Logger('Sample');
  readonly store: TokenStore;

  constructor(
    @InjectRepository(TokenRow) tokens: Repository<TokenRow>,
    @InjectRepository(CounterRow) counters: Repository<CounterRow>,
    @InjectRepository(SettingRow) private readonly settings: Repository<SettingRow>,
  ) {
    this.store = new DatabaseTokenStore(tokens, counters);
  }

  /** The stored development secret, generated and stored at the first call. */
  async storedSecret(): Promise<string> {
    const stored = await this.settings.findOneBy({ name: SECRET_SETTING });
    if (stored) return stored.value;
    try {
      await this.settings.insert({ name: SECRET_SETTING, value: randomBytes(32).toString('base64url') });
      this.logger.log('No EMAIL_WORKFLOW_SECRET set: generated a development secret and stored it in the sample\'s database');
    } catch (error) {
      if (!isUniqueViolation(error)) throw error; // another process stored one first: use that
    }
    return (await this.settings.findOneByOrFail({ name: SECRET_SETTING })).value;
  }
}
