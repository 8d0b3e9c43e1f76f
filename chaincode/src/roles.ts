/** Roles carried in the `role` attribute of Fabric CA enrollment certificates. */
export const ROLES = ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Who sent a transaction, as established from the certificate, never from arguments. */
export interface Caller {
  mspId: string;
  enrollmentId: string;
  role: Role;
}
