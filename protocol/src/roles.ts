/** Roles carried in the `role` attribute of Fabric CA enrollment certificates. */
export const ROLES = ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Who can use a consent: the roles that request access. */
export const REQUESTER_ROLES: readonly Role[] = ['doctor', 'researcher'];

/** The roles of a hospital that approve consents under its approval policies. */
export const APPROVER_ROLES = ['doctor', 'admin'] as const satisfies readonly Role[];
export type ApproverRole = (typeof APPROVER_ROLES)[number];

/** Who sent a transaction, as established from the certificate, never from arguments. */
export interface Caller {
  mspId: string;
  enrollmentId: string;
  role: Role;
}
