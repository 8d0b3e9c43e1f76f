/**
 * @emr/protocol: the vocabulary the chaincode and the SDK share. No Fabric here; node
 * built-ins only. docs/architecture.md has a table of what lives where.
 */
export { canonicalJson } from './canonical-json';
export { ChaincodeError, ErrorCode, invalid } from './errors';
export { ID_RULE, isId, isPseudonym, checkRecordId, checkConsentId, checkGrantId, checkDkgId, checkEmergencyId, checkEntryId, checkProposalId, checkPseudonym, checkCategory, checkEnrollmentId, checkMspId } from './ids';
export { encodeParty, decodeParty, sameParty, distinctParties, type Party } from './party';
export { TIME_RULE, checkTime } from './times';
export { PSEUDONYM_DOMAIN, pseudonymOf } from './pseudonyms';
export { ROLES, isRole, REQUESTER_ROLES, APPROVER_ROLES, type Role, type ApproverRole, type Caller } from './roles';
export {
  PURPOSES,
  RECORD_TYPES,
  CONSENT_STATUSES,
  DENY_REASONS,
  MAX_SCOPE_RECORDS,
  MAX_HOP_LIMIT,
  MAX_ACCESSES,
  inCategory,
  categoryAncestors,
  ROOT_CATEGORY,
  recordInScope,
  registrationActive,
  type Purpose,
  type RecordType,
  type Grantee,
  type ConsentScope,
  type ConsentStatus,
  type DenyReason,
} from './scopes';
export { recordSigningPayload, fragmentSigningPayload, publicKeyPem, signatureValid, signatureSchemeOf, sm2KeyPayload, SIGNATURE_PATTERN, SIGNATURE_SCHEME_NAMES, type SignatureScheme, type SignedRecordFields } from './signing';
export {
  TRANSACTIONS,
  MAX_PAGE_SIZE,
  contractOf,
  methodOf,
  encodeArgument,
  type Transactions,
  type TransactionName,
  type TransactionArgs,
  type TransactionResult,
  type TransactionTransient,
  type SubmitName,
  type EvaluateName,
  type Argument,
  type AccessDecision,
  type TypeSwitch,
  type FragmentReport,
  type Election,
} from './transactions';
export type { EmrRecordInput, EmrRecord, PatientApproval, Erasure, RecordCreation, RecordPage, InternalMetadata } from './types/records';
export { createdRecord } from './types/records';
export type { ConsentInput, Consent, ConsentPage, ApprovalRequirement, ApprovalPolicy, PolicySet, Approval, ReachAttestation, ReachAttestationInput } from './types/consents';
export { requiredApprovals } from './approvals';
export type { RegistrationInput, Registration, GrantPage } from './types/grants';
export { EMERGENCY_STATUSES, type EmergencyInput, type Emergency, type EmergencyStatus, type Justification } from './types/emergencies';
export { LOG_ACTIONS, type KeyLeak, type KeyLeakReport, type LogAction, type LogEntry, type LogPage } from './types/log';
export type { PatientRegistration, DirectoryEntry, Member, Sm2KeyRegistration } from './types/directory';
export { DEFAULT_CIPHER_SUITE, NO_SETTINGS, categoryKnown, mayApprove, missingApprovals, unknownCategory, type ConsortiumSettings, type ConsortiumSettingsInput, type SettingsApproval, type SettingsProposal } from './types/consortium';
export { DKG_FAULTS, DKG_PHASES, type DkgBoard, type DkgBody, type DkgFault, type DkgMessage, type DkgMessageInput, type DkgPhase, type DkgRevealedShare } from './types/dkg';
export { agreedKeyCentres, type Proxy, type KeyCentreInput, type KeyCentre } from './types/services';
export { AREA_NAME, AREA_ROLES, HOME_ORG, OTHER_MEMBERS, effectiveRules, evaluateAreaAccess, inArea, type Area, type AreaContext, type AreaDecision, type AreaMember, type AreaPolicy, type AreaRule, type EffectiveRule } from './areas';
export { accessGoesThrough } from './access';
export { areaKeysId, areaOfRule, groupOf, groupPartyOf, inGroup, isGroupParty, isReservedConsentId, parseAreaKeysId, type Group, type GroupSettings } from './groups';
export { CATEGORY_LABEL, blindCategory, isBlindedCategory, openCategoryLabel, patientBlindingKey, sealCategoryLabel, unblindCategory } from './blinding';
export { LINK_GAP, MAX_LINK_INDEX, isRecordPseudonym, linkIndexOf, linkKey, parseRecordLink, recordPseudonym, type RecordLink } from './linking';
export { evaluateConsent, granteeMatches, type AreaMembership, type ConsentRequest, type Decision } from './consent-rules';
export { APPROVAL_WINDOW_MINUTES, emergencyStatus, evaluateEmergency } from './emergency-rules';
