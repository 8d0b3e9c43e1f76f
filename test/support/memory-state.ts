import { createHash } from 'node:crypto';
import type { StateQueryPage, StateStore } from '../../chaincode/src/ledger';

/**
 * An in-memory world state for unit tests, with fabric-shim's composite-key encoding
 * (U+0000 separators) and bookmark pagination (the bookmark is the next key).
 */
export class MemoryState implements StateStore {
  readonly data = new Map<string, Uint8Array>();
  /** Events set by the transactions run on this state, in order. */
  readonly events: { name: string; payload: unknown }[] = [];
  /** Key-level endorsement policies set, by key (the policy bytes). */
  readonly validation = new Map<string, Uint8Array>();
  /** Private data by collection, then key. */
  readonly private = new Map<string, Map<string, Uint8Array>>();
  /** Transient data of the next transaction (set by chaincodeContext). */
  transient = new Map<string, Uint8Array>();

  async setStateValidationParameter(key: string, policy: Uint8Array): Promise<void> {
    this.validation.set(key, policy);
  }

  async getPrivateData(collection: string, key: string): Promise<Uint8Array> {
    return this.private.get(collection)?.get(key) ?? new Uint8Array();
  }

  async putPrivateData(collection: string, key: string, value: Uint8Array): Promise<void> {
    if (!this.private.has(collection)) this.private.set(collection, new Map());
    this.private.get(collection)!.set(key, value);
  }

  async getPrivateDataHash(collection: string, key: string): Promise<Uint8Array> {
    const value = this.private.get(collection)?.get(key);
    return value ? createHash('sha256').update(value).digest() : new Uint8Array();
  }

  getTransient(): Map<string, Uint8Array> {
    return this.transient;
  }

  setEvent(name: string, payload: Uint8Array): void {
    this.events.push({ name, payload: JSON.parse(Buffer.from(payload).toString('utf8')) });
  }

  async getState(key: string): Promise<Uint8Array> {
    return this.data.get(key) ?? new Uint8Array();
  }

  /** Nothing to save in memory: getState is as cheap. */
  async prefetch(): Promise<void> {}

  async putState(key: string, value: Uint8Array): Promise<void> {
    this.data.set(key, value);
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    return `\u0000${objectType}\u0000${attributes.map((a) => `${a}\u0000`).join('')}`;
  }

  /** As the peer pages: from the bookmark when there is one (unchecked, like Fabric's), up to the end of the partial key's range. */
  async getStateByPartialCompositeKeyWithPagination(objectType: string, attributes: string[], pageSize: number, bookmark: string): Promise<StateQueryPage> {
    const prefix = this.createCompositeKey(objectType, attributes);
    const [start, end] = [bookmark || prefix, `${prefix}\u{10ffff}`];
    const keys = [...this.data.keys()].filter((k) => k >= start && k < end).sort();
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
