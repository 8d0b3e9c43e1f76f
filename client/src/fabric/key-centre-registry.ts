/** Typed access to the key generation centres' public record on chain, and their DKG board. */
import type { DkgBoard, DkgMessage, DkgMessageInput, DkgPhase, KeyCentre, KeyCentreInput } from '@emr/protocol';
import { ContractClient } from './contract-client';

export class KeyCentreRegistry extends ContractClient {
  /** A centre (role kgc) registers the DKG's public outcome as it computed it. */
  register(input: KeyCentreInput): Promise<KeyCentre> {
    return this.submit('kgc:RegisterKeyCentre', input);
  }

  list(): Promise<KeyCentre[]> {
    return this.evaluate('kgc:ListKeyCentres');
  }

  /** Posts this centre's message of a DKG phase (its vote to close the phase before). */
  postDkg(message: DkgMessageInput): Promise<DkgMessage> {
    return this.submit('kgc:PostDkgMessage', message);
  }

  /** Votes to close a phase of the DKG (after waiting out a silent centre). */
  closeDkgPhase(dkgId: string, phase: DkgPhase, index: number): Promise<{ phase: DkgPhase; voted: boolean }> {
    return this.submit('kgc:CloseDkgPhase', dkgId, phase, index);
  }

  readDkg(dkgId: string): Promise<DkgBoard> {
    return this.evaluate('kgc:ReadDkg', dkgId);
  }
}
