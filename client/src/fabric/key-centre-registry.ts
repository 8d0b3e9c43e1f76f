/** Typed access to the key generation centres' public record on chain. */
import type { KeyCentre, KeyCentreInput } from '@emr/protocol';
import { ContractClient } from './contract-client';

export class KeyCentreRegistry extends ContractClient {
  /** A centre (role kgc) registers the DKG's public outcome as it computed it. */
  register(input: KeyCentreInput): Promise<KeyCentre> {
    return this.submit('kgc:RegisterKeyCentre', input);
  }

  list(): Promise<KeyCentre[]> {
    return this.evaluate('kgc:ListKeyCentres');
  }
}
