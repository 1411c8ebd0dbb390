import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { readSettings } from '../settings';
import { UsersStore } from '../users.store';
import { databaseOptions } from './database.options';
import { EmbeddedTokens } from './embedded-tokens';
import { ENTITIES } from './entities';

/** The sample's database, and what lives in it: the users (the library's EmailUserDirectory), sessions, and tokens without Redis. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({ inject: [ConfigService], useFactory: (config: ConfigService) => databaseOptions(readSettings(config)) }),
    TypeOrmModule.forFeature(ENTITIES),
  ],
  providers: [UsersStore, EmbeddedTokens],
  exports: [TypeOrmModule, UsersStore, EmbeddedTokens],
})
export class UsersModule {}
