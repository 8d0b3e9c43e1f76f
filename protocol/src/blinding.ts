/**
 * Blinded categories (docs/privacy.md, "Categories"). A record's department path is stored
 * on chain blinded under its patient's key, one keyed hash per segment:
 *
 *   blind(k, s1/…/sn) = b1/…/bn,  bi = HMAC-SHA256(k, "emr-category:v1" ‖ 0x00 ‖ s1/…/si)[0..16], hex
 *
 * Each bi hashes the whole path down to segment i, so `cardiology/echo` and `oncology/echo`
 * differ in both segments, and the order of subtrees survives: blind(a) is a prefix of blind(b)
 * exactly when a is an ancestor of b. Scope checks (`inCategory`), ancestor capsules and
 * grants therefore work on the blinded form unchanged. The root `*` is not blinded. Without
 * k a path's blinded form says nothing of its name; it still shows the depth.
 *
 *   k_p = HMAC-SHA256(K_home, "emr-blinding-key:v1" ‖ 0x00 ‖ pseudonym)
 *
 * is the patient's key, derived from a secret of his home hospital: the hospital can derive
 * every patient's key, and each patient gets his own.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { ROOT_CATEGORY } from './scopes';

const SEGMENT_BYTES = 16;
const BLINDED = /^[0-9a-f]{32}(\/[0-9a-f]{32}){0,7}$/;

/** The path blinded under `key`, segment by segment; the root stays the root. */
export function blindCategory(key: Uint8Array, category: string): string {
  if (category === ROOT_CATEGORY) return category;
  const segments = category.split('/');
  return segments
    .map((_, i) => createHmac('sha256', key).update(`emr-category:v1\u0000${segments.slice(0, i + 1).join('/')}`, 'utf8').digest().subarray(0, SEGMENT_BYTES).toString('hex'))
    .join('/');
}

/** The form blindCategory gives: 1 to 8 segments of 32 hex characters. */
export const isBlindedCategory = (category: string): boolean => BLINDED.test(category);

/** The patient's blinding key, from his home hospital's secret. */
export const patientBlindingKey = (hospitalSecret: Uint8Array, patientPseudonym: string): Uint8Array =>
  createHmac('sha256', hospitalSecret).update(`emr-blinding-key:v1\u0000${patientPseudonym}`, 'utf8').digest();

/** Which of `candidates` (the consortium's department tree) a blinded path is, for a holder of the key; undefined if none. */
export function unblindCategory(key: Uint8Array, blinded: string, candidates: readonly string[]): string | undefined {
  return blinded === ROOT_CATEGORY ? ROOT_CATEGORY : candidates.find((c) => blindCategory(key, c) === blinded);
}

const LABEL_IV_BYTES = 12;
const LABEL_TAG_BYTES = 16;
/** base64url of iv ‖ ciphertext ‖ tag, for a path of at most 8 segments of 64 characters. */
export const CATEGORY_LABEL = /^[A-Za-z0-9_-]{39,732}$/;

const labelKey = (key: Uint8Array): Buffer => createHmac('sha256', key).update('emr-category-label:v1', 'utf8').digest();

/**
 * The clear path sealed for the holder of the patient's key, stored next to its blinded form
 * so that the patient's own listings can name it. AES-256-GCM bound to the blinded form: a
 * label copied onto another record does not open.
 */
export function sealCategoryLabel(key: Uint8Array, category: string): string {
  const iv = randomBytes(LABEL_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', labelKey(key), iv).setAAD(Buffer.from(blindCategory(key, category), 'utf8'));
  return Buffer.concat([iv, cipher.update(category, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64url');
}

/** The clear path of a label, when it opens under `key` and blinds to `blinded`; else undefined. */
export function openCategoryLabel(key: Uint8Array, blinded: string, label: string): string | undefined {
  const bytes = Buffer.from(label, 'base64url');
  if (bytes.length < LABEL_IV_BYTES + LABEL_TAG_BYTES + 1) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', labelKey(key), bytes.subarray(0, LABEL_IV_BYTES)).setAAD(Buffer.from(blinded, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - LABEL_TAG_BYTES));
    const clear = Buffer.concat([decipher.update(bytes.subarray(LABEL_IV_BYTES, bytes.length - LABEL_TAG_BYTES)), decipher.final()]).toString('utf8');
    return blindCategory(key, clear) === blinded ? clear : undefined;
  } catch {
    return undefined;
  }
}
