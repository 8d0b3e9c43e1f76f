/** `emr patient register|show`: the patient's own pseudonym, registered on chain or shown. */
import type { Command } from 'commander';
import type { PatientRegistration } from '@emr/protocol';
import { ConflictError, NotFoundError } from '../../fabric/errors';
import { table } from '../format';
import { profileUsers } from '../options';
import { requirePatient, type Session, type Sessions } from '../session';

/** `emr patient register` / `show`: the registration, the full pseudonym first. */
export function registrationText(pseudonym: string, r: PatientRegistration | null): string {
  return table([
    ['pseudonym', pseudonym],
    ['registered', r ? 'yes' : 'no'],
    ['home MSP', r?.homeMsp],
    ['registered at', r?.registeredAt],
    ['tx', r?.txId],
  ]);
}

/** What a newly registered patient does next (stderr, human mode only). */
function nextSteps(s: Session, p: string): string {
  const emr = 'npm run -s emr --';
  const doctor = profileUsers(s.options, 'doctor')[0] ?? 'doctor1';
  return [
    'next steps:',
    `  P=${p}`,
    `  a doctor of your hospital uploads a record:  ${emr} --org ${s.options.org} --user ${doctor} upload ecg.json --patient $P --category cardiology/ecg`,
    `  you list your records:                       ${emr} --org ${s.options.org} --user ${s.options.user} records --patient $P`,
    `  you grant a consent:                         ${emr} --org ${s.options.org} --user ${s.options.user} grant --patient $P --grantee researcher1@ResearchInstituteMSP --category cardiology --purpose research`,
    `  you list your consents and the audit trail:  ${emr} --org ${s.options.org} --user ${s.options.user} consents --patient $P; … audit $P`,
  ].join('\n');
}

export function addPatient(program: Command, session: Sessions): void {
  const patient = program.command('patient').description("the patient's own pseudonym: register it on chain, or show it");

  patient
    .command('register')
    .description('the patient (e.g. --org HospitalA --user patient1) registers the pseudonym derived from his own enrollment key, and prints it in full')
    .addHelpText(
      'after',
      [
        '',
        'Prints the full 64-hex pseudonym, the home MSP (the org whose CA enrolled you) and the transaction id;',
        'with --json the registration: {patientPseudonym, homeMsp, registeredAt, txId, alreadyRegistered}.',
        'Already registered: nothing is written, the existing registration is printed (alreadyRegistered: true),',
        'a note says so on stderr, and the exit code is 0. Only a patient can register, and only his own pseudonym.',
        '',
        'Example: P=$(emr --org HospitalA --user patient1 --json patient register | jq -r .patientPseudonym)',
      ].join('\n'),
    )
    .action(async () => {
      const s = session();
      requirePatient(s, 'patient register');
      const { registration, already } = await s.connect(async (c) => {
        try {
          return { registration: await c.registerPatient(), already: false };
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          return { registration: await c.consents.readPatient(c.ownPseudonym()), already: true };
        }
      });
      const p = registration.patientPseudonym;
      s.emit({ ...registration, alreadyRegistered: already }, () => registrationText(p, registration));
      s.note(already ? `emr: already registered (at ${registration.registeredAt}); nothing was written` : 'emr: registered');
      s.note(nextSteps(s, p));
    });

  patient
    .command('show')
    .description('the patient prints his own pseudonym (derived from his enrollment key) and whether it is registered')
    .addHelpText('after', '\n--json: {patientPseudonym, registered, registration} (registration null when not registered).')
    .action(async () => {
      const s = session();
      requirePatient(s, 'patient show');
      const { p, registration } = await s.connect(async (c) => {
        const p = c.ownPseudonym();
        try {
          return { p, registration: await c.consents.readPatient(p) };
        } catch (err) {
          if (err instanceof NotFoundError) return { p, registration: null };
          throw err;
        }
      });
      s.emit({ patientPseudonym: p, registered: registration !== null, registration }, () => registrationText(p, registration));
      if (!registration) s.note(`emr: not registered yet: emr --org ${s.options.org} --user ${s.options.user} patient register`);
    });
}
