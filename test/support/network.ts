import { randomUUID } from 'node:crypto';
import { ConflictError, connectGateway, ConsentLedger, EmergencyAccess, EmrClient, EmrIndex, ProxyRegistry, pseudonymOf, type EmrConnection } from '../../client/src';
import { enroll } from '../../network/src/network';
import { stateDir } from '../../network/src/paths';

/** Opens gateway connections as wallet identities of the live network; closes them all at once. */
export class Connections {
  private readonly open: EmrConnection[] = [];

  as(org: string, user: string, timeouts?: Parameters<typeof connectGateway>[0]['timeouts']): EmrIndex {
    const connection = connectGateway({ org, user, profile: stateDir, ...(timeouts ? { timeouts } : {}) });
    this.open.push(connection);
    return new EmrIndex(connection);
  }

  consents(org: string, user: string): ConsentLedger {
    return new ConsentLedger(this.connection(org, user));
  }

  emergency(org: string, user: string): EmergencyAccess {
    return new EmergencyAccess(this.connection(org, user));
  }

  proxies(org: string, user: string): ProxyRegistry {
    return new ProxyRegistry(this.connection(org, user));
  }

  connection(org: string, user: string): EmrConnection {
    const connection = connectGateway({ org, user, profile: stateDir });
    this.open.push(connection);
    return connection;
  }

  closeAll(): void {
    for (const c of this.open.splice(0)) c.close();
  }
}

/**
 * A new patient of `org` on the live network: enrolled at the org's Fabric CA (put in the
 * wallet and profile), then registered on chain by himself with his own pseudonym. Each test
 * file gets its own, so it depends on no other file's state.
 */
export async function newPatient(org = 'HospitalA', prefix = 'it-patient'): Promise<{ user: string; pseudonym: string }> {
  const user = `${prefix}-${randomUUID().slice(0, 8)}`;
  await enroll(org, user, 'patient');
  const connection = connectGateway({ org, user, profile: stateDir });
  try {
    const pseudonym = pseudonymOf(connection.mspId, connection.certificate);
    await new ConsentLedger(connection).registerPatient(pseudonym);
    return { user, pseudonym };
  } finally {
    connection.close();
  }
}

/** Opens EmrClients as wallet identities of the live network; all closed after the file's tests. */
export function emrClients(): (org: string, user: string) => EmrClient {
  const open: EmrClient[] = [];
  afterAll(() => open.forEach((c) => c.close()));
  return (org, user) => {
    const c = EmrClient.connect({ org, user, profile: stateDir });
    open.push(c);
    return c;
  };
}

/** A patient registered (by this suite or an earlier one) and researcher1 listed: answers the patient's pseudonym. */
export async function patientAndResearcher(patient: EmrClient, researcher: EmrClient): Promise<string> {
  await patient.registerPatient().catch((e: unknown) => {
    if (!(e instanceof ConflictError)) throw e; // registered by an earlier suite
  });
  await researcher.registerIdentity();
  return patient.ownPseudonym();
}

/**
 * The patient (see patientAndResearcher) grants researcher1 of the research institute
 * `maxAccesses` research reads of a category's top level, valid for a day from an hour ago;
 * answers the consent id and its one grant (the patient has a record there already).
 */
export async function researchConsent(patient: EmrClient, category: string, maxAccesses: number) {
  const pseudonym = patient.ownPseudonym();
  const hour = 3_600_000;
  const granted = await patient.grantConsent({
    patientPseudonym: pseudonym,
    grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
    scope: { category: category.split('/')[0]! },
    purpose: 'research',
    validFrom: new Date(Date.now() - hour).toISOString(),
    validUntil: new Date(Date.now() + 24 * hour).toISOString(),
    maxAccesses,
    hopLimit: 1,
  });
  return { consentId: granted.consent.consentId, grant: granted.grants[0]! };
}
