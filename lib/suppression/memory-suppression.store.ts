import type { StoredSuppression, SuppressionStore } from './suppression.types';

/** The list in process memory, for the in-process queue: lost with the process, like its tokens. */
export class MemorySuppressionStore implements SuppressionStore {
  private readonly entriesByKey = new Map<string, StoredSuppression>();

  async get(key: string): Promise<StoredSuppression | undefined> {
    const entry = this.entriesByKey.get(key);
    return entry && { ...entry };
  }

  async put(key: string, entry: StoredSuppression): Promise<void> {
    this.entriesByKey.set(key, { ...entry });
  }

  async delete(key: string): Promise<boolean> {
    return this.entriesByKey.delete(key);
  }

  async entries(): Promise<Array<[string, StoredSuppression]>> {
    return [...this.entriesByKey].map(([key, entry]) => [key, { ...entry }]);
  }
}
