/**
 * Sends the malformed chaincode calls through the gateway as the SDK sends transactions: a
 * submit is endorsed and, should the peers endorse it, ordered and waited for, so a malformed
 * call that is accepted shows as accepted and as a block; an evaluation is evaluated.
 */
import type { Proposal } from '@hyperledger/fabric-gateway';
import { TRANSACTIONS, type TransactionName } from '@emr/protocol';
import { ChaincodeRejectedError, mapGatewayError } from '../../../client/src';
import { ALL_TRANSACTIONS, applicableClasses, malformedCall, type ChaincodeCall, type Context, type InputClass } from './chaincode-calls';
import type { Gateways } from './gateways';
import { Plan } from './plan';
import { Random } from './random';
import type { Outcome } from './tally';
import type { World } from './world';

/** The topology's own identities: the callers the calls pick from (besides the fixture's two patients). */
const TOPOLOGY_USERS = new Set(['admin', 'proxy', 'kgc', 'doctor1', 'doctor2', 'specialist1', 'patient1', 'researcher1']);

export function chaincodePlan(world: World, gateways: Gateways, seed: string): Plan<TransactionName, InputClass, ChaincodeCall> {
  const identities = gateways.identities().filter((i) => TOPOLOGY_USERS.has(i.user) || i.user === world.victim.user || i.user === world.attacker.user);
  const context = (transaction: TransactionName, r: Random): Context => ({
    transaction,
    w: world,
    r,
    identities,
    sign: (id, payload) => gateways.connection(id).sign(payload),
    fresh: (prefix) => `${prefix}-${world.tag}-${r.int(0, 999_999_999)}`,
  });
  const pairs = ALL_TRANSACTIONS.flatMap((target) => applicableClasses(target, context(target, new Random(`${seed}/applicable/${target}`))).map((inputClass) => ({ target, inputClass })));
  return new Plan(seed, pairs, ({ target, inputClass }, r) => {
    const call = malformedCall(target, inputClass, context(target, r));
    if (!call) throw new Error(`${inputClass} does not apply to ${target}`);
    return call;
  });
}

export async function sendChaincodeCall(call: ChaincodeCall, gateways: Gateways): Promise<Outcome> {
  const connection = gateways.connection(call.caller);
  try {
    let proposal: Proposal;
    if (call.replay) {
      proposal = connection.gateway.newProposal(call.replay);
    } else {
      proposal = connection.contract.newProposal(call.transaction, {
        arguments: call.args,
        ...(call.transient ? { transientData: Object.fromEntries(Object.entries(call.transient).map(([k, v]) => [k, Buffer.from(v)])) } : {}),
        ...(call.ownOrg ? { endorsingOrganizations: [connection.mspId] } : {}),
      });
      if (call.foreignSignature) proposal = connection.gateway.newSignedProposal(proposal.getBytes(), await gateways.foreignSignature(call.caller));
    }
    if (TRANSACTIONS[call.transaction] === 'evaluate') {
      await proposal.evaluate();
      return { kind: 'accepted', detail: 'evaluated' };
    }
    const endorsed = await proposal.endorse();
    const status = await (await endorsed.submit()).getStatus();
    return { kind: 'accepted', detail: status.successful ? `committed as ${endorsed.getTransactionId()}` : `ordered, then invalidated with code ${status.code}` };
  } catch (err) {
    const e = mapGatewayError(err);
    if (e instanceof ChaincodeRejectedError && e.code !== 'ENDORSEMENT_FAILED') return { kind: 'refused', code: e.code, ...(e.field !== undefined ? { field: e.field } : {}), message: e.detail };
    return { kind: 'unnamed', message: e.message };
  }
}

/** Whether the outcome is the refusal the call must get; if not, what was expected. */
export function judgeChaincode(call: ChaincodeCall, outcome: Outcome): { ok: true } | { ok: false; expected: string } {
  const { code, fields } = call.expect;
  const ok = outcome.kind === 'refused' && outcome.code === code && (!fields || fields.includes(outcome.field ?? ''));
  return ok ? { ok } : { ok, expected: `${code}${fields ? `[${fields.join('|')}]` : ''}` };
}
