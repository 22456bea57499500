/** Response shapes shared by several route modules, as the original's clients expect them. */
import { z } from '@hono/zod-openapi';
import type { UserRecord } from '../node/user/user-store.ts';

/** The original's user types. */
export const USER_TYPES = {
  guest: '76802331-37b3-44fa-9010-35008b0cbaec',
  user: '00000000-0000-0000-0000-000000000006',
} as const;

export const profileSchema = z
  .object({
    bio: z.string().optional(),
    location: z.string().optional(),
    avatarHash: z.string().optional(),
    profileLink: z.string().optional(),
    onboarded: z.boolean().optional(),
  })
  .openapi('Profile');

export const userSchema = z
  .object({
    id: z.string(),
    userTypeId: z.string(),
    name: z.string(),
    wallet: z.string().optional(),
    profile: profileSchema,
    token: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    isGuest: z.boolean(),
  })
  .openapi('User');

export type UserDto = z.infer<typeof userSchema>;

export function userDto(user: UserRecord, token?: string): UserDto {
  return {
    id: user.id,
    userTypeId: user.isGuest ? USER_TYPES.guest : USER_TYPES.user,
    name: user.name,
    ...(user.wallets?.length ? { wallet: user.wallets[0] } : {}),
    profile: user.profile ?? {},
    ...(token ? { token } : {}),
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
    isGuest: user.isGuest,
  };
}

export const userSummarySchema = z
  .object({ id: z.string(), name: z.string(), profile: profileSchema })
  .openapi('UserSummary');

export const userSummary = (user: UserRecord) => ({
  id: user.id,
  name: user.name,
  profile: user.profile ?? {},
});
