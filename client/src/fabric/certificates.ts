/** What Fabric CA writes into an enrollment certificate, read back. */
import type { X509Certificate } from 'node:crypto';

/** The enrollment attributes (`hf.EnrollmentID`, `role`, …), which Fabric CA writes as JSON in a certificate extension. */
export function certificateAttributes(cert: X509Certificate): Record<string, string> {
  const raw = cert.raw.toString('latin1');
  const start = raw.indexOf('{"attrs":');
  if (start < 0) return {};
  let depth = 0;
  for (let i = start; i < raw.length; i++) {
    if (raw[i] === '{') depth++;
    else if (raw[i] === '}' && --depth === 0) return (JSON.parse(raw.slice(start, i + 1)) as { attrs: Record<string, string> }).attrs;
  }
  return {};
}
