/** Typed access to break-glass: justification, second-doctor approval, time-limited reads. */
import type { Emergency, EmergencyInput, EmergencyStatus, Justification, LogEntry, RecordLink } from '@emr/protocol';
import { allowedOrThrow } from './consent-ledger';
import { ContractClient } from './contract-client';

export class EmergencyAccess extends ContractClient {
  /**
   * A doctor breaks the glass: the justification goes to his hospital's implicit collection
   * (endorsed by his hospital alone, so the text never leaves it), then the request is
   * committed with the justification's hash. A second doctor must approve before any read.
   */
  async breakGlass(input: EmergencyInput & { justification: string }): Promise<Emergency> {
    const { justification, ...request } = input;
    await this.submitOwnOrg('emergency:RecordJustification', [request.emergencyId], { justification });
    return this.submit('emergency:RequestBreakGlass', request);
  }

  /** A second doctor of the requester's hospital approves; access lasts durationMinutes from now. */
  approve(emergencyId: string): Promise<Emergency> {
    return this.submit('emergency:ApproveBreakGlass', emergencyId);
  }

  /** The requester asks to read a record under the break-glass; AccessDeniedError when refused (logged). */
  async requestAccess(recordId: string, emergencyId: string, link?: RecordLink): Promise<LogEntry> {
    return allowedOrThrow(await this.submitTransient('emergency:RequestEmergencyAccess', [recordId, emergencyId], { link }));
  }

  read(emergencyId: string): Promise<{ emergency: Emergency; status: EmergencyStatus }> {
    return this.evaluate('emergency:ReadBreakGlass', emergencyId);
  }

  /** The justification text, from the caller's own org's peer (the requester's hospital only). */
  justification(emergencyId: string): Promise<Justification> {
    return this.evaluateOwnOrg('emergency:ReadJustification', emergencyId);
  }
}
