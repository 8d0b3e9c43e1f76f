/**
 * @emr/crypto: identity-based, type-and-condition, multi-hop threshold proxy
 * re-encryption on BLS12-381, the key centres' DKG, and hybrid record encryption.
 * Shared by the SDK (which encrypts, grants, re-encrypts, decrypts) and the chaincode
 * (which checks a reported fragment against the commitments on chain).
 */
export { backend, backendFallback, ready, useBackend, type BackendName } from './backend';
export * from './group';
export * from './encoding';
export * from './shamir';
export * from './dleq';
export * from './ibe';
export * from './pre';
export * from './trace';
export * from './dkg';
export * from './record-cipher';
export { SM2_DEFAULT_ID, SM2P256V1, deriveSm2Secret, randomSm2Secret, sm2Curve, sm2PublicKey, sm2PublicKeyPoint, sm2Sign, sm2UserIdDigest, sm2Verify, sm3, type Sm2Curve, type Sm2Options } from './sm2';
