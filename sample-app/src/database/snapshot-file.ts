import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Where the embedded SQLite database (sql.js, in memory) is saved after each change. TypeORM's own
 * autoSave writes the file in place, so a crash mid-write would leave half a database: here each
 * snapshot goes to a temporary file, is flushed to disk, then renamed over the old one (atomic on
 * one file system), so the file always holds a whole snapshot, the latest or the one before it.
 * Writes never overlap, and a snapshot that a newer one replaced while waiting is skipped.
 */
export class SnapshotFile {
  private latest?: Uint8Array;
  private writing?: Promise<void>;
  private written = 0;

  constructor(readonly path: string) {}

  async save(snapshot: Uint8Array): Promise<void> {
    this.latest = snapshot;
    while (this.writing) await this.writing;
    const data = this.latest;
    if (data === undefined) return; // a write that started after ours took our snapshot (or a newer one)
    this.latest = undefined;
    this.writing = this.write(data).finally(() => (this.writing = undefined));
    await this.writing;
  }

  private async write(data: Uint8Array): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.${++this.written}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
  }
}
