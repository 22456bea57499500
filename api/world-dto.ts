/** Response shapes of the worlds and objects routes (the original's field names). */
import { z } from '@hono/zod-openapi';
import type { TreeNode } from '../node/world/object-tree.ts';
import { ASSET_2D_OPTION, type MemberView } from '../node/world/objects.ts';
import { DEFAULT_OBJECT_FIELDS } from '../node/world/ops.ts';
import type { WorldView } from '../node/world/world-directory.ts';
import type { ObjectRecord } from '../node/world/world-store.ts';
import { transformSchema } from './validation.ts';

// The original's pointers: null when the world has no such text.
const orNull = (s: string) => s || null;

export const worldSummarySchema = z
  .object({
    id: z.string(),
    owner_id: z.string(),
    owner_name: z.string().nullable(),
    name: z.string(),
    description: z.string().nullable(),
    /** Decimal string, as the original's numeric(78); from the chain harvester ("0" without one). */
    stake_total: z.string(),
    website_link: z.string().nullable(),
    avatarHash: z.string().nullable(),
  })
  .openapi('WorldSummary');

export const ownedWorldSchema = worldSummarySchema.omit({ stake_total: true }).openapi('OwnedWorld');

export const worldDetailsSchema = worldSummarySchema
  .extend({
    createdAt: z.string(),
    updatedAt: z.string(),
    stakers: z.array(
      z.object({
        user_id: z.string(),
        name: z.string(),
        stake: z.string(),
        avatarHash: z.string().nullable(),
      }),
    ),
    last_staking_comment: z.string().nullable(),
    is_admin: z.boolean(),
  })
  .openapi('WorldDetails');

export function worldSummary(v: WorldView): z.infer<typeof worldSummarySchema> {
  return {
    id: v.world.id,
    owner_id: v.world.ownerId,
    owner_name: v.ownerName,
    name: v.world.name,
    description: orNull(v.description),
    stake_total: v.stakeTotal,
    website_link: orNull(v.websiteLink),
    avatarHash: orNull(v.avatarHash),
  };
}

export function ownedWorld(v: WorldView): z.infer<typeof ownedWorldSchema> {
  const { stake_total: _, ...rest } = worldSummary(v);
  return rest;
}

export function worldDetails(v: WorldView, isAdmin: boolean): z.infer<typeof worldDetailsSchema> {
  return {
    ...worldSummary(v),
    createdAt: new Date(v.world.createdAt).toISOString(),
    updatedAt: new Date(v.world.updatedAt).toISOString(),
    stakers: v.stakers.map((s) => ({
      user_id: s.userId,
      name: s.name,
      stake: s.stake,
      avatarHash: s.avatarHash,
    })),
    last_staking_comment: null,
    is_admin: isAdmin,
  };
}

export const objectSchema = z
  .object({
    owner_id: z.string(),
    parent_id: z.string(),
    object_type_id: z.string(),
    /** '' when none. */
    asset_2d_id: z.string(),
    asset_3d_id: z.string(),
    transform: transformSchema,
  })
  .openapi('Object');

/** `nodeId` is the parent a world reports, as on PosBus (the original's node object). */
export function objectDto(o: ObjectRecord, nodeId: string): z.infer<typeof objectSchema> {
  const asset2d = o.options[ASSET_2D_OPTION];
  return {
    owner_id: o.ownerId,
    parent_id: o.id === o.worldId ? nodeId : o.parentId,
    object_type_id: o.typeId,
    asset_2d_id: typeof asset2d === 'string' ? asset2d : '',
    asset_3d_id: o.assetType === DEFAULT_OBJECT_FIELDS.assetType ? '' : o.assetType,
    transform: o.transform,
  };
}

export const objectIdSchema = z.object({ object_id: z.string() }).openapi('ObjectId');

/** One tree node; `children` maps child ids to nodes of this same shape (empty below max_depth). */
export const treeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    object_type_id: z.string(),
    object_type_name: z.string(),
    total_direct_children: z.number(),
    created_at: z.string(),
    children: z.record(z.string(), z.unknown()),
    max_depth: z.number().optional(),
  })
  .openapi('ObjectTree');

interface TreeDto {
  id: string;
  name: string;
  object_type_id: string;
  object_type_name: string;
  total_direct_children: number;
  created_at: string;
  children: Record<string, TreeDto>;
  max_depth?: number;
}

export function treeDto(node: TreeNode): TreeDto {
  return {
    id: node.object.id,
    name: node.object.name,
    object_type_id: node.object.typeId,
    object_type_name: node.typeName,
    total_direct_children: node.totalDirectChildren,
    created_at: new Date(node.object.createdAt).toISOString(),
    children: Object.fromEntries(node.children.map((child) => [child.object.id, treeDto(child)])),
  };
}

export const memberSchema = z
  .object({
    object_id: z.string(),
    user_id: z.string(),
    name: z.string(),
    avatar_hash: z.string(),
    role: z.string(),
  })
  .openapi('Member');

export const memberDto = (m: MemberView): z.infer<typeof memberSchema> => ({
  object_id: m.objectId,
  user_id: m.userId,
  name: m.name,
  avatar_hash: m.avatarHash,
  role: m.role,
});
