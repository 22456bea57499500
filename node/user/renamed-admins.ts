/**
 * `--admins` may name users by id. Wallet users got new ids in the schema 2 migration (user-id.ts), so an
 * old id there no longer names anyone: the operator is told which id to write instead. Wallets in
 * `--admins` need nothing: they still match the same user.
 */
import type { Logger } from 'pino';
import type { Database } from '../../storage/db/database.ts';
import { userTables } from './user-store.ts';

/** The configured admin ids that were renamed, each with its new id (also logged as a warning). */
export async function warnOfRenamedAdmins(
  db: Database,
  admins: string[],
  log: Logger,
): Promise<{ oldId: string; newId: string }[]> {
  const renames = userTables(db).userIdRenames;
  const renamed: { oldId: string; newId: string }[] = [];
  for (const entry of admins) {
    const oldId = entry.trim().toLowerCase();
    if (!oldId) continue;
    const newId = await renames.get(oldId);
    if (newId) renamed.push({ oldId, newId });
  }
  for (const { oldId, newId } of renamed) {
    log.warn(
      { oldId, newId },
      `--admins names user ${oldId}, whose id is now ${newId} (ids derived from wallets): it is no longer an admin until the config says ${newId} or the wallet`,
    );
  }
  return renamed;
}
