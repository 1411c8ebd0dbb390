import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { SampleSettings } from '../settings';
import { ENTITIES } from './entities';
import { InitialSchema1765090000000 } from './initial-schema.migration';
import { SnapshotFile } from './snapshot-file';

export const SQLITE_FILE = 'sample.sqlite';

/**
 * PostgreSQL when DATABASE_URL is set; else SQLite through sql.js (SQLite compiled to WebAssembly: no
 * native build, no download at install) kept in `<dataDir>/sample.sqlite`. The migration runs at boot.
 */
export function databaseOptions(settings: Pick<SampleSettings, 'databaseUrl' | 'dataDir'>): DataSourceOptions {
  const shared = { entities: ENTITIES, migrations: [InitialSchema1765090000000], migrationsRun: true, logging: false };
  if (settings.databaseUrl) return { type: 'postgres', url: settings.databaseUrl, ...shared };
  const file = new SnapshotFile(join(settings.dataDir, SQLITE_FILE));
  return { type: 'sqljs', location: file.path, autoSave: true, autoSaveCallback: (data: Uint8Array) => file.save(data), ...shared };
}
