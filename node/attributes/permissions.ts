/**
 * Who may read and write an attribute (ODYSSEY_API §2.6). A permission is a `+`-joined list of roles; the
 * caller passes when it holds any of them:
 *   any          everyone, without a token too
 *   user         any signed-in user (guests included)
 *   admin        node attributes: a node admin; object and object-user: an admin of the object (node admins
 *                included); user and user-user: a node admin
 *   user_owner   user: the user himself; object-user: the :userID; user-user: the source user
 *   target_user  user-user: the target user
 * Per-row options override the type's; a missing read is `any`, a missing write `admin+user_owner`.
 * Unknown role names grant nothing.
 */
import type { AttributeOptions, AttributePermissions, UserRecord } from '../../storage/db/records.ts';
import type { AttributeTarget } from './targets.ts';

export type Role = 'any' | 'user' | 'admin' | 'user_owner' | 'target_user';
export type Operation = 'read' | 'write';

export const DEFAULT_PERMISSIONS: Required<AttributePermissions> = { read: 'any', write: 'admin+user_owner' };

/** The admin checks the model needs (Access implements them). */
export interface AdminCheck {
  isNodeAdmin(user: UserRecord): boolean;
  isObjectAdmin(user: UserRecord, objectId: string): boolean;
}

export function effectivePermissions(
  typeOptions: AttributeOptions,
  rowOptions?: AttributeOptions,
): Required<AttributePermissions> {
  return {
    read: rowOptions?.permissions?.read ?? typeOptions.permissions?.read ?? DEFAULT_PERMISSIONS.read,
    write: rowOptions?.permissions?.write ?? typeOptions.permissions?.write ?? DEFAULT_PERMISSIONS.write,
  };
}

/** The roles the caller holds for an attribute of `target`. `nodeId` is the node object's id. */
export function rolesOf(
  caller: UserRecord | undefined,
  target: AttributeTarget,
  admins: AdminCheck,
  nodeId: string,
): Set<Role> {
  const roles = new Set<Role>(['any']);
  if (!caller) return roles;
  roles.add('user');
  const me = caller.id;
  switch (target.family) {
    case 'node':
      if (admins.isNodeAdmin(caller)) roles.add('admin');
      break;
    case 'object':
      if (admins.isObjectAdmin(caller, target.objectId)) roles.add('admin');
      break;
    case 'objectUser':
      if (
        target.objectId === nodeId
          ? admins.isNodeAdmin(caller)
          : admins.isObjectAdmin(caller, target.objectId)
      )
        roles.add('admin');
      if (target.userId === me) roles.add('user_owner');
      break;
    case 'user':
      if (admins.isNodeAdmin(caller)) roles.add('admin');
      if (target.userId === me) roles.add('user_owner');
      break;
    case 'userUser':
      if (admins.isNodeAdmin(caller)) roles.add('admin');
      if (target.sourceId === me) roles.add('user_owner');
      if (target.targetId === me) roles.add('target_user');
      break;
  }
  return roles;
}

/** True when `permission` (a `+`-joined role list) names a role in `roles`. */
export function allows(permission: string, roles: ReadonlySet<Role>): boolean {
  return permission.split('+').some((role) => roles.has(role.trim() as Role));
}

/**
 * "Read all" routes return many owners' values at once, so they only serve attributes every signed-in
 * user may read: a read permission naming `any` or `user`.
 */
export function readableByEveryUser(permissions: Required<AttributePermissions>): boolean {
  return allows(permissions.read, new Set<Role>(['any', 'user']));
}
