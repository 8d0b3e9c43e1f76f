import type { StateQueryPage, StateStore } from '../../chaincode/src/ledger';

/**
 * An in-memory world state for unit tests, with fabric-shim's composite-key encoding
 * (U+0000 separators) and bookmark pagination (the bookmark is the next key).
 */
export class MemoryState implements StateStore {
  readonly data = new Map<string, Uint8Array>();
  /** Events set by the transactions run on this state, in order. */
  readonly events: { name: string; payload: unknown }[] = [];

  setEvent(name: string, payload: Uint8Array): void {
    this.events.push({ name, payload: JSON.parse(Buffer.from(payload).toString('utf8')) });
  }

  async getState(key: string): Promise<Uint8Array> {
    return this.data.get(key) ?? new Uint8Array();
  }

  async putState(key: string, value: Uint8Array): Promise<void> {
    this.data.set(key, value);
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    return `\u0000${objectType}\u0000${attributes.map((a) => `${a}\u0000`).join('')}`;
  }

  async getStateByPartialCompositeKeyWithPagination(objectType: string, attributes: string[], pageSize: number, bookmark: string): Promise<StateQueryPage> {
    const prefix = this.createCompositeKey(objectType, attributes);
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && (!bookmark || k >= bookmark)).sort();
    const page = keys.slice(0, pageSize);
    let i = 0;
    return {
      iterator: {
        next: async () => (i < page.length ? { value: { key: page[i]!, value: this.data.get(page[i++]!)! }, done: false } : { done: true }),
        close: async () => undefined,
      },
      metadata: { fetchedRecordsCount: page.length, bookmark: keys[pageSize] ?? '' },
    };
  }
}
