/** `emr area set|clear|list|keys`: the patient's own rules for the consortium's areas (they replace the defaults), and his standing grants to them. */
import type { Command } from 'commander';
import type { AreaPolicy } from '@emr/protocol';
import { categoryText, grantText, table } from '../format';
import { UsageError, parseCategory, parsePseudonym, parsePurpose } from '../options';
import { requirePatient, type Sessions } from '../session';
import { ruleText } from './consortium';

/** A rule; `clear` names a blinded category to the patient himself. */
const policyText = (p: AreaPolicy, clear: ReadonlyMap<string, string> = new Map()) =>
  table([['area', p.area], ['rule', ruleText(p.category === undefined ? p : { ...p, category: categoryText(p.category, clear.get(p.category)) })], ['set at', p.setAt], ['tx', p.txId]]);

export function addArea(program: Command, session: Sessions): void {
  const area = program.command('area').description("the patient's own rules for the consortium's areas (emr consortium show lists the areas and their defaults)");

  area
    .command('set')
    .description("the patient sets his own rule for an area; it replaces the consortium's default for that area")
    .argument('<area>', 'the area, e.g. research')
    .requiredOption('--patient <pseudonym>', 'your pseudonym')
    .option('--purposes <purposes>', 'comma-separated purposes the area may read for (treatment, research, emergency, payment, audit)')
    .option('--deny', 'the area gets nothing (withdraws its default)')
    .option('--category <category>', 'only records of this category subtree')
    .option('--blind', 'the --category blinded with your key, for records filed with upload --blind (docs/privacy.md)')
    .action(async (name: string, o: { patient: string; purposes?: string; deny?: boolean; category?: string; blind?: boolean }) => {
      const s = session();
      requirePatient(s, 'area set');
      if (!o.deny === (o.purposes === undefined)) throw new UsageError('area set: give --purposes or --deny (one of them)', o.deny ? '--deny' : '--purposes');
      if (o.blind && o.category === undefined) throw new UsageError('area set: --blind blinds the --category; give one', '--blind');
      const purposes = o.deny ? [] : o.purposes!.split(',').map((p) => parsePurpose(p.trim(), '--purposes'));
      const input = { patientPseudonym: parsePseudonym(o.patient), area: name, purposes, ...(o.category !== undefined ? { category: parseCategory(o.category) } : {}), ...(o.blind ? { blindCategory: true } : {}) };
      const policy = await s.connect((c) => c.setAreaPolicy(input));
      s.emit(policy, () => policyText(policy));
    });

  area
    .command('clear')
    .description("the patient removes his own rule for an area: the consortium's default applies again")
    .argument('<area>', 'the area')
    .requiredOption('--patient <pseudonym>', 'your pseudonym')
    .action(async (name: string, o: { patient: string }) => {
      const s = session();
      requirePatient(s, 'area clear');
      const cleared = await s.connect((c) => c.consents.clearAreaPolicy(parsePseudonym(o.patient), name));
      s.emit({ area: name, cleared }, () => (cleared ? `${name}: your rule is gone; the consortium's default applies` : `${name}: you had no rule of your own`));
    });

  area
    .command('keys')
    .description("the patient makes his standing grants, one to each area, so that a request an area's rule allows can be decrypted (idempotent: only the missing or expiring ones)")
    .option('--days <n>', 'how long new standing grants last', '365')
    .action(async (o: { days: string }) => {
      const s = session();
      requirePatient(s, 'area keys');
      const validDays = Number(o.days);
      if (!Number.isInteger(validDays) || validDays < 8 || validDays > 3650) throw new UsageError('--days must be a whole number of days from 8 to 3650', '--days');
      const made = await s.connect((c) => c.makeAreaGrants({ validDays }));
      s.emit(made, () => (made.length ? made.map((g) => `${g.consentId}: ${grantText(g)}`).join('\n') : 'every area already has a standing grant of yours'));
    });

  area
    .command('list')
    .description("the patient's own area rules (the patient, or an admin of his hospital)")
    .requiredOption('--patient <pseudonym>', 'the pseudonym')
    .action(async (o: { patient: string }) => {
      const s = session();
      const pseudonym = parsePseudonym(o.patient);
      const { policies, clear } = await s.connect(async (c) => {
        const listed = await c.consents.listAreaPolicies(pseudonym);
        return { policies: listed, clear: await c.clearCategories(pseudonym, listed.flatMap((p) => p.category ?? [])) };
      });
      s.emit(policies, () => policies.map((p) => policyText(p, clear)).join('\n\n') || "no rules of the patient's own: the consortium's defaults apply");
    });
}
