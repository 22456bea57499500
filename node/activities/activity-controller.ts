/**
 * Timeline posts about objects (usually worlds): who may write, edit and delete them, and telling the
 * people in the object's world with a PosBus `ActivityUpdate` (`new`, `changed`, `removed`) on every change.
 */
import { forbidden, notFound } from '../../common/errors.ts';
import type { BatchOp } from '../../harvester/block-effects.ts';
import { type ActivityData, encode } from '../../protocol/posbus/index.ts';
import type { ActivityRecord, UserRecord } from '../../storage/db/records.ts';
import type { Access } from '../world/access.ts';
import type { WorldController } from '../world/world-controller.ts';
import type { WorldStore } from '../world/world-store.ts';
import {
  type ActivityPage,
  type ActivityPatch,
  type ActivityStore,
  emptyActivityData,
} from './activity-store.ts';

/** Activity types a client may post; the others (`world_created`, `stake`, `unstake`) are the node's own. */
export const USER_ACTIVITY_TYPES = ['video', 'screenshot'] as const;
export const ACTIVITY_TYPES = [...USER_ACTIVITY_TYPES, 'world_created', 'stake', 'unstake'] as const;

export interface ActivityPost {
  type: string;
  hash: string;
  description?: string;
}

export class ActivityController {
  private readonly activities: ActivityStore;
  private readonly store: WorldStore;
  private readonly worlds: WorldController;
  private readonly access: Access;

  constructor(components: {
    activities: ActivityStore;
    store: WorldStore;
    worlds: WorldController;
    access: Access;
  }) {
    this.activities = components.activities;
    this.store = components.store;
    this.worlds = components.worlds;
    this.access = components.access;
  }

  newsfeed(startIndex: number, pageSize: number): Promise<ActivityPage> {
    return this.activities.newest(startIndex, pageSize);
  }

  timeline(objectId: string, startIndex: number, pageSize: number): Promise<ActivityPage> {
    return this.activities.ofObject(objectId, startIndex, pageSize);
  }

  /** An activity of the object; `activity_not_found` when there is none. */
  async get(objectId: string, activityId: string): Promise<ActivityRecord> {
    const activity = await this.activities.get(activityId);
    if (!activity || activity.objectId !== objectId)
      throw notFound('activity_not_found', `no activity ${activityId} on object ${objectId}`);
    return activity;
  }

  /** Posts on an object's timeline, with where the author stands if they are in that object's world. */
  async create(user: UserRecord, objectId: string, post: ActivityPost): Promise<ActivityRecord> {
    const found = this.store.findObject(objectId);
    if (!found) throw notFound('object_not_found', `no object ${objectId}`);
    const room = this.worlds.roomOf(user.id);
    const at = room?.worldId === found.state.id ? room.transformOf(user.id)?.position : undefined;
    const activity = await this.activities.create({
      userId: user.id,
      objectId,
      type: post.type,
      data: {
        ...emptyActivityData(),
        position: at ? { x: at.x, y: at.y, z: at.z } : null,
        hash: post.hash,
        description: post.description ?? null,
      },
    });
    this.notify(activity, 'new');
    return activity;
  }

  /**
   * An activity the node itself records (stakes seen on chain): no author position, told to the world
   * like any other. Undefined when the object is gone.
   */
  async record(
    userId: string,
    objectId: string,
    type: (typeof ACTIVITY_TYPES)[number],
    data: Partial<ActivityData>,
  ): Promise<ActivityRecord | undefined> {
    if (!this.store.findObject(objectId)) return undefined;
    const activity = await this.activities.create({
      userId,
      objectId,
      type,
      data: { ...emptyActivityData(), ...data },
    });
    this.notify(activity, 'new');
    return activity;
  }

  /**
   * The same as `record`, for a caller that writes `ops` in its own batch (a block's stake activities go
   * in the block's batch) and calls `announce` once that batch is committed. Undefined when the object is
   * gone.
   */
  prepareRecord(
    userId: string,
    objectId: string,
    type: (typeof ACTIVITY_TYPES)[number],
    data: Partial<ActivityData>,
  ): { record: ActivityRecord; ops: BatchOp[]; announce: () => void } | undefined {
    if (!this.store.findObject(objectId)) return undefined;
    const { record, ops } = this.activities.prepare({
      userId,
      objectId,
      type,
      data: { ...emptyActivityData(), ...data },
    });
    const announce = () => {
      this.activities.added(record);
      this.notify(record, 'new');
    };
    return { record, ops, announce };
  }

  /**
   * Deletes an activity the node recorded, in a caller's batch (`ops`); `announce` after it is written
   * tells the world with `ActivityUpdate` `removed`. Undefined when the activity is already gone.
   */
  async prepareRemoval(activityId: string): Promise<{ ops: BatchOp[]; announce: () => void } | undefined> {
    const record = await this.activities.get(activityId);
    if (!record) return undefined;
    return {
      ops: this.activities.removalOps(record),
      announce: () => {
        this.activities.subtracted(record);
        this.notify(record, 'removed');
      },
    };
  }

  /** Edits one's own activity. */
  async update(
    user: UserRecord,
    objectId: string,
    activityId: string,
    patch: ActivityPatch,
  ): Promise<ActivityRecord> {
    const current = await this.get(objectId, activityId);
    if (current.userId !== user.id)
      throw forbidden('operation_not_permitted', 'only its author may edit an activity');
    const next = await this.activities.update(activityId, patch);
    if (!next) throw notFound('activity_not_found', `no activity ${activityId}`);
    this.notify(next, 'changed');
    return next;
  }

  /** Deletes an activity: its author, or an admin of its object. */
  async remove(user: UserRecord, objectId: string, activityId: string): Promise<void> {
    const current = await this.get(objectId, activityId);
    if (current.userId !== user.id && !this.access.isObjectAdmin(user, current.objectId))
      throw forbidden(
        'operation_not_permitted',
        'only its author or an admin of the object may delete an activity',
      );
    const removed = await this.activities.remove(activityId);
    if (removed) this.notify(removed, 'removed');
  }

  /** `ActivityUpdate` to everyone in the world the activity's object belongs to. */
  private notify(activity: ActivityRecord, changeType: 'new' | 'changed' | 'removed'): void {
    const found = this.store.findObject(activity.objectId);
    if (!found) return;
    const frame = encode({
      type: 'ActivityUpdate',
      activityId: activity.activityId,
      changeType,
      activityType: activity.type,
      data: changeType === 'removed' ? null : (activity.data satisfies ActivityData),
      userId: activity.userId,
      objectId: activity.objectId,
    });
    this.worlds.broadcastToWorld(found.state.id, frame);
  }
}
