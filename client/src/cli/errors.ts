/** How a failed command reports: a JSON error document, or a line on stderr. */
import type { LogEntry } from '@emr/protocol';
import { AccessDeniedError } from '../fabric/consent-ledger';
import { ChaincodeRejectedError } from '../fabric/errors';

/** The cause worth showing: not the raw gateway error a chaincode rejection was parsed from. */
function shownCause(e: Error): Error | undefined {
  return e.cause instanceof Error && !(e instanceof ChaincodeRejectedError) && !e.message.includes(e.cause.message) ? e.cause : undefined;
}

/** The error as JSON: its class name, message and whatever fields its class adds. */
export function errorDocument(err: unknown, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  const e = err instanceof Error ? err : new Error(String(err));
  const doc: Record<string, unknown> = { name: e.name, message: e.message };
  for (const [key, value] of Object.entries(e)) {
    if (key === 'name' || key === 'message' || key === 'cause' || value === undefined) continue;
    if (key === 'entry' && value && typeof value === 'object') doc.entryId = (value as LogEntry).entryId;
    else doc[key] = value;
  }
  const cause = shownCause(e);
  if (cause) doc.cause = { name: cause.name, message: cause.message };
  return { error: { ...doc, ...extra } };
}

/** The human error line(s) for stderr: `emr: <ClassName>: <message>`. */
export function errorText(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  let text = `emr: ${e.name}: ${e.message}`;
  if (e instanceof AccessDeniedError) text += ` [reason: ${e.reason}; the denial is logged as entry ${e.entry.entryId}]`;
  const cause = shownCause(e);
  if (cause) text += `\n  caused by ${cause.name}: ${cause.message}`;
  return text;
}
