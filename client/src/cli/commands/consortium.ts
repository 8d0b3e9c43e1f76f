/** `emr consortium show|propose|approve`: the consortium's settings on chain, changed by its members' admins together. */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { checkMspId, checkProposalId, missingApprovals, type Area, type AreaRule, type ConsortiumSettings, type SettingsProposal } from '@emr/protocol';
import type { EmrClient } from '../../sharing/emr-client';
import { table } from '../format';
import { UsageError, parseCategory, parseSuite } from '../options';
import type { Sessions } from '../session';

const areaText = (a: Area) => `${a.name} = ${a.members.map((m) => `${m.roles.join('/')}@${m.org}`).join(' + ')}`;
export const ruleText = (r: AreaRule) => `${r.area}: ${r.purposes.join(', ') || 'nothing'}${r.category ? ` in ${r.category}` : ''}`;

export function settingsText(s: ConsortiumSettings): string {
  return table([
    ['version', String(s.version)],
    ['members', s.members.join(', ') || '(none yet)'],
    ['default suite', s.defaultCipherSuite],
    ['categories', s.categories.join(', ') || '(any path)'],
    ['areas', s.areas.map(areaText).join('; ') || '(none)'],
    ['area defaults', s.areaDefaults.map(ruleText).join('; ') || '(none)'],
    ['blind categories', s.blindCategories ? 'yes (new records, consents, area rules and break-glass carry them blinded)' : 'no'],
    ['unlink records', s.unlinkRecords ? "yes (staff file new records under record pseudonyms, not the patient's)" : 'no'],
    ['proposal', s.proposalId ?? '-'],
    ['adopted at', s.adoptedAt ?? '-'],
  ]);
}

/** A proposal, and what it still lacks against the settings in force. */
async function proposalDoc(c: EmrClient, p: SettingsProposal) {
  const current = await c.settings.read();
  const missing = p.status === 'open' && current.version === p.baseVersion ? missingApprovals(current, p.settings, p.approvals.map((a) => a.mspId)) : null;
  const text = () =>
    table([
      ['proposal', p.proposalId],
      ['status', p.status === 'open' && current.version !== p.baseVersion ? `stale (changes version ${p.baseVersion}, ${current.version} is in force)` : p.status],
      ['members', p.settings.members.join(', ')],
      ['default suite', p.settings.defaultCipherSuite],
      ['categories', p.settings.categories.join(', ') || '(any path)'],
      ['blind categories', p.settings.blindCategories ? 'yes' : 'no'],
      ['unlink records', p.settings.unlinkRecords ? 'yes' : 'no'],
      ['approved by', p.approvals.map((a) => a.mspId).join(', ')],
      ['still needs', missing ? [...missing.orgs, ...(missing.moreMembers ? [`${missing.moreMembers} more of ${current.members.join(', ')}`] : [])].join('; ') || '-' : '-'],
    ]);
  return { doc: { ...p, missing }, text };
}

/** The areas and their defaults from a JSON file (the chain checks every field). */
function readAreas(file: string): { areas: Area[]; areaDefaults: AreaRule[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--areas: cannot read ${JSON.stringify(file)} as JSON: ${(err as Error).message}`, '--areas');
  }
  const { areas, areaDefaults } = (doc ?? {}) as { areas?: unknown; areaDefaults?: unknown };
  if (!Array.isArray(areas) || !Array.isArray(areaDefaults)) throw new UsageError(`--areas: ${file} must hold {areas: [...], areaDefaults: [...]}`, '--areas');
  return { areas: areas as Area[], areaDefaults: areaDefaults as AreaRule[] };
}

function parseMembers(value: string): string[] {
  const members = value.split(',').map((m) => m.trim());
  members.forEach((m) => {
    try {
      checkMspId(m);
    } catch {
      throw new UsageError(`--members: ${JSON.stringify(m)} is not an MSP id (a comma-separated list like HospitalAMSP,HospitalBMSP)`, '--members');
    }
  });
  return members;
}

export function addConsortium(program: Command, session: Sessions): void {
  const consortium = program.command('consortium').description("the consortium's settings on chain (members, default cipher suite): show them; admins propose and approve changes");

  consortium
    .command('show')
    .description('the settings in force (anyone)')
    .addHelpText('after', '\n--json: {version, members, defaultCipherSuite, proposalId, adoptedAt}; version 0 until the first settings were adopted.')
    .action(async () => {
      const s = session();
      const settings = await s.connect((c) => c.settings.read());
      s.emit(settings, () => settingsText(settings));
    });

  consortium
    .command('propose')
    .description("an admin proposes settings; his org's approval counts at once")
    .option('--suite <suite>', 'the default cipher suite of new records: aes or sm (default: unchanged)')
    .option('--members <msps>', 'the member orgs, comma-separated MSP ids (default: unchanged)')
    .option('--areas <file>', 'a JSON file {areas: [{name, members: [{org, roles}]}], areaDefaults: [{area, purposes, category?}]} (default: unchanged); org is an MSP id, $home or $others')
    .option('--categories <paths>', "the department tree records are filed under, comma-separated paths (ancestors implied), or 'any' for any path (default: unchanged)")
    .option('--blind-categories <yes|no>', 'whether new categories go on chain blinded for their patients (docs/privacy.md; default: unchanged)')
    .option('--unlink-records <yes|no>', "whether staff file new records under record pseudonyms rather than the patient's (docs/privacy.md; default: unchanged)")
    .option('--id <proposalId>', 'the proposal id (default: a fresh one)')
    .addHelpText('after', '\nThe first settings need the approval of every org they name; later ones a majority of the members and every org they add.\nOther admins run: emr consortium approve <proposalId>.')
    .action(async (o: { suite?: string; members?: string; categories?: string; areas?: string; blindCategories?: string; unlinkRecords?: string; id?: string }) => {
      const s = session();
      const yesNo = (value: string | undefined, option: string): boolean | undefined => {
        if (value !== undefined && !['yes', 'no'].includes(value)) throw new UsageError(`${option}: ${JSON.stringify(value)} is neither yes nor no`, option);
        return value === undefined ? undefined : value === 'yes';
      };
      const blindCategories = yesNo(o.blindCategories, '--blind-categories');
      const unlinkRecords = yesNo(o.unlinkRecords, '--unlink-records');
      const suite = o.suite === undefined ? undefined : parseSuite(o.suite);
      const members = o.members === undefined ? undefined : parseMembers(o.members);
      const areas = o.areas === undefined ? undefined : readAreas(o.areas);
      const categories = o.categories === undefined ? undefined : o.categories === 'any' ? [] : o.categories.split(',').map((c) => parseCategory(c.trim(), '--categories'));
      const proposalId = o.id ?? `settings-${randomUUID().slice(0, 8)}`;
      try {
        checkProposalId(proposalId);
      } catch {
        throw new UsageError(`--id: ${JSON.stringify(proposalId)} is not a valid id`, '--id');
      }
      const { doc, text } = await s.connect(async (c) => {
        const current = await c.settings.read();
        if (!members && current.members.length === 0) throw new UsageError('--members: the consortium has no members yet, so the first proposal names them', '--members');
        const proposal = await c.settings.propose(proposalId, {
          members: members ?? current.members,
          defaultCipherSuite: suite ?? current.defaultCipherSuite,
          categories: categories ?? current.categories,
          areas: areas?.areas ?? current.areas,
          areaDefaults: areas?.areaDefaults ?? current.areaDefaults,
          blindCategories: blindCategories ?? current.blindCategories ?? false,
          unlinkRecords: unlinkRecords ?? current.unlinkRecords ?? false,
        });
        return proposalDoc(c, proposal);
      });
      s.emit(doc, text);
    });

  consortium
    .command('approve')
    .description("an admin approves a proposal for his org; the approval that completes the quorum puts it in force")
    .argument('<proposalId>', 'the proposal')
    .action(async (proposalId: string) => {
      const s = session();
      const { doc, text } = await s.connect(async (c) => proposalDoc(c, await c.settings.approve(proposalId)));
      s.emit(doc, text);
    });
}
