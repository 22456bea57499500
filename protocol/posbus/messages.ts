/**
 * Body codecs of every PosBus message, fields in wire order (SPEC.md §5), and the type-id table.
 * Composite types are inlined by hand: the MUS format has no tags, so the field order here *is* the format.
 */
import {
  readAnyMap,
  readEthAddress,
  readUint256,
  writeAnyMap,
  writeEthAddress,
  writeUint256,
} from './gotiny.ts';
import type { MusReader } from './reader.ts';
import type * as T from './types.ts';
import type { MusWriter } from './writer.ts';

export interface BodyCodec<M extends T.Message> {
  readonly typeId: number;
  write(w: MusWriter, m: M): void;
  read(r: MusReader): M;
}

// Minimum encoded sizes, used to bound element counts by the bytes left before allocating anything.
const UMID_SIZE = 16;
const USER_TRANSFORM_MIN = UMID_SIZE + 6;
const USER_DATA_MIN = UMID_SIZE + 2 + 6 + 1;
const OBJECT_DEFINITION_MIN = 3 * UMID_SIZE + 1 + 1 + 9 + 3;

// ---- composites ---------------------------------------------------------------------------------

function writeVec3(w: MusWriter, v: T.Vec3): void {
  w.f32(v.x);
  w.f32(v.y);
  w.f32(v.z);
}

function readVec3(r: MusReader): T.Vec3 {
  return r.vec3();
}

function writeTransformNoScale(w: MusWriter, t: T.TransformNoScale): void {
  writeVec3(w, t.position);
  writeVec3(w, t.rotation);
}

function readTransformNoScale(r: MusReader): T.TransformNoScale {
  return { position: readVec3(r), rotation: readVec3(r) };
}

function writeTransform(w: MusWriter, t: T.Transform): void {
  writeVec3(w, t.position);
  writeVec3(w, t.rotation);
  writeVec3(w, t.scale);
}

function readTransform(r: MusReader): T.Transform {
  return { position: readVec3(r), rotation: readVec3(r), scale: readVec3(r) };
}

function writeObjectDefinition(w: MusWriter, o: T.ObjectDefinition): void {
  w.umid(o.id, 'id');
  w.umid(o.parentId, 'parentId');
  w.umid(o.assetType, 'assetType');
  w.i8(o.assetFormat, 'assetFormat');
  w.string(o.name);
  writeTransform(w, o.transform);
  w.bool(o.isEditable);
  w.bool(o.tetheredToParent);
  w.bool(o.showOnMinimap);
}

function readObjectDefinition(r: MusReader): T.ObjectDefinition {
  return {
    id: r.umid(),
    parentId: r.umid(),
    assetType: r.umid(),
    assetFormat: r.i8(),
    name: r.string(),
    transform: readTransform(r),
    isEditable: r.bool(),
    tetheredToParent: r.bool(),
    showOnMinimap: r.bool(),
  };
}

function writeUserData(w: MusWriter, u: T.UserData): void {
  w.umid(u.id, 'id');
  w.string(u.name);
  w.string(u.avatar);
  writeTransformNoScale(w, u.transform);
  w.bool(u.isGuest);
}

function readUserData(r: MusReader): T.UserData {
  return {
    id: r.umid(),
    name: r.string(),
    avatar: r.string(),
    transform: readTransformNoScale(r),
    isGuest: r.bool(),
  };
}

function writeUserTransform(w: MusWriter, u: T.UserTransform): void {
  w.umid(u.id, 'id');
  writeTransformNoScale(w, u.transform);
}

function readUserTransform(r: MusReader): T.UserTransform {
  return { id: r.umid(), transform: readTransformNoScale(r) };
}

function writeOptional<V>(w: MusWriter, v: V | null | undefined, write: (w: MusWriter, v: V) => void): void {
  if (v === null || v === undefined) {
    w.byte(0);
    return;
  }
  w.byte(1);
  write(w, v);
}

function readOptional<V>(r: MusReader, read: (r: MusReader) => V): V | null {
  return r.present() ? read(r) : null;
}

const writeString = (w: MusWriter, s: string) => w.string(s);
const readString = (r: MusReader) => r.string();

function writeActivityData(w: MusWriter, d: T.ActivityData): void {
  writeOptional(w, d.position, writeVec3);
  writeOptional(w, d.description, writeString);
  writeOptional(w, d.hash, writeString);
  writeOptional(w, d.tokenSymbol, writeString);
  writeOptional(w, d.tokenAmount, writeString);
  writeOptional(w, d.bcTxHash, writeString);
  writeOptional(w, d.bcLogIndex, writeString);
}

function readActivityData(r: MusReader): T.ActivityData {
  return {
    position: readOptional(r, readVec3),
    description: readOptional(r, readString),
    hash: readOptional(r, readString),
    tokenSymbol: readOptional(r, readString),
    tokenAmount: readOptional(r, readString),
    bcTxHash: readOptional(r, readString),
    bcLogIndex: readOptional(r, readString),
  };
}

function writeList<V>(w: MusWriter, list: readonly V[], write: (w: MusWriter, v: V) => void): void {
  w.int(list.length);
  for (let i = 0; i < list.length; i++) write(w, list[i]);
}

function readList<V>(r: MusReader, minSize: number, read: (r: MusReader) => V): V[] {
  const n = r.length(minSize);
  const list: V[] = new Array(n);
  for (let i = 0; i < n; i++) list[i] = read(r);
  return list;
}

const writeUmidElement = (w: MusWriter, id: string) => w.umid(id);
const readUmidElement = (r: MusReader) => r.umid();

function writeMap<V>(w: MusWriter, map: Record<string, V>, write: (w: MusWriter, v: V) => void): void {
  const keys = Object.keys(map);
  w.int(keys.length);
  for (const key of keys) {
    w.string(key);
    write(w, map[key]);
  }
}

function readMap<V>(r: MusReader, read: (r: MusReader) => V): Record<string, V> {
  const n = r.length(2);
  // No prototype, so that a "__proto__" key stays a key.
  const map: Record<string, V> = Object.create(null);
  for (let i = 0; i < n; i++) {
    const key = r.string();
    map[key] = read(r);
  }
  return map;
}

// ---- messages -----------------------------------------------------------------------------------

function codec<M extends T.Message>(
  typeId: number,
  write: (w: MusWriter, m: NoInfer<M>) => void,
  read: (r: MusReader) => M,
): BodyCodec<M> {
  return { typeId, write, read };
}

export const codecs: { [K in T.MessageType]: BodyCodec<T.MessageOf<K>> } = {
  ActivityUpdate: codec(
    0xca57695d,
    (w, m) => {
      w.umid(m.activityId, 'activityId');
      w.string(m.changeType);
      writeOptional(w, m.activityType, writeString);
      writeOptional(w, m.data, writeActivityData);
      w.umid(m.userId, 'userId');
      w.umid(m.objectId, 'objectId');
    },
    (r) => ({
      type: 'ActivityUpdate',
      activityId: r.umid(),
      changeType: r.string(),
      activityType: readOptional(r, readString),
      data: readOptional(r, readActivityData),
      userId: r.umid(),
      objectId: r.umid(),
    }),
  ),
  AddObjects: codec(
    0x2452a9c1,
    (w, m) => writeList(w, m.objects, writeObjectDefinition),
    (r) => ({ type: 'AddObjects', objects: readList(r, OBJECT_DEFINITION_MIN, readObjectDefinition) }),
  ),
  AddPendingStake: codec(
    0xf020d682,
    (w, m) => {
      w.umid(m.transactionId, 'transactionId');
      w.umid(m.odysseyId, 'odysseyId');
      writeEthAddress(w, m.wallet);
      writeUint256(w, m.amount, 'amount');
      w.string(m.comment);
      w.int(m.kind, 'kind');
    },
    (r) => ({
      type: 'AddPendingStake',
      transactionId: r.umid(),
      odysseyId: r.umid(),
      wallet: readEthAddress(r),
      amount: readUint256(r),
      comment: r.string(),
      kind: r.int(),
    }),
  ),
  AddUsers: codec(
    0xf51f2aff,
    (w, m) => writeList(w, m.users, writeUserData),
    (r) => ({ type: 'AddUsers', users: readList(r, USER_DATA_MIN, readUserData) }),
  ),
  AttributeValueChanged: codec(
    0x10dacdb7,
    (w, m) => {
      w.umid(m.pluginId, 'pluginId');
      w.string(m.attributeName);
      w.string(m.changeType);
      writeOptional(w, m.value, writeAnyMap);
      w.umid(m.targetId, 'targetId');
    },
    (r) => ({
      type: 'AttributeValueChanged',
      pluginId: r.umid(),
      attributeName: r.string(),
      changeType: r.string(),
      value: readOptional(r, readAnyMap),
      targetId: r.umid(),
    }),
  ),
  EventStart: codec(
    0xaa854d2c,
    (w, m) => writeMap(w, m.entries, writeString),
    (r) => ({ type: 'EventStart', entries: readMap(r, readString) }),
  ),
  FlyToMe: codec(
    0xa6eb70c6,
    (w, m) => {
      w.umid(m.pilot, 'pilot');
      w.string(m.pilotName);
      w.umid(m.objectId, 'objectId');
    },
    (r) => ({ type: 'FlyToMe', pilot: r.umid(), pilotName: r.string(), objectId: r.umid() }),
  ),
  GenericMessage: codec(
    0xf508e4a3,
    (w, m) => {
      w.string(m.topic);
      w.bytes(m.data);
    },
    (r) => ({ type: 'GenericMessage', topic: r.string(), data: r.bytesField() }),
  ),
  HandShake: codec(
    0x7c41941a,
    (w, m) => {
      w.int(m.handshakeVersion, 'handshakeVersion');
      w.int(m.protocolVersion, 'protocolVersion');
      w.string(m.token);
      w.umid(m.userId, 'userId');
      w.umid(m.sessionId, 'sessionId');
    },
    (r) => ({
      type: 'HandShake',
      handshakeVersion: r.int(),
      protocolVersion: r.int(),
      token: r.string(),
      userId: r.umid(),
      sessionId: r.umid(),
    }),
  ),
  HighFive: codec(
    0x3d501432,
    (w, m) => {
      w.umid(m.senderId, 'senderId');
      w.umid(m.receiverId, 'receiverId');
      w.string(m.message);
    },
    (r) => ({ type: 'HighFive', senderId: r.umid(), receiverId: r.umid(), message: r.string() }),
  ),
  LockObject: codec(
    0xa7de9f59,
    (w, m) => w.umid(m.id),
    (r) => ({ type: 'LockObject', id: r.umid() }),
  ),
  LockObjectResponse: codec(
    0x0924668c,
    (w, m) => {
      w.umid(m.id, 'id');
      w.u32(m.result, 'result');
      w.umid(m.lockOwner, 'lockOwner');
    },
    (r) => ({ type: 'LockObjectResponse', id: r.umid(), result: r.uvarint32(), lockOwner: r.umid() }),
  ),
  MyTransform: codec(0xf878c4bf, writeTransformNoScale, (r) => ({
    type: 'MyTransform',
    position: readVec3(r),
    rotation: readVec3(r),
  })),
  Notification: codec(
    0xc1fb41d7,
    (w, m) => {
      w.u32(m.notifyType, 'notifyType');
      w.string(m.value);
    },
    (r) => ({ type: 'Notification', notifyType: r.uvarint32(), value: r.string() }),
  ),
  ObjectData: codec(
    0xcace197c,
    (w, m) => {
      w.umid(m.id, 'id');
      writeMap(w, m.entries, (w, v) => writeOptional(w, v, writeAnyMap));
    },
    (r) => ({ type: 'ObjectData', id: r.umid(), entries: readMap(r, (r) => readOptional(r, readAnyMap)) }),
  ),
  ObjectDefinition: codec(0xd742b52e, writeObjectDefinition, (r) => ({
    type: 'ObjectDefinition',
    ...readObjectDefinition(r),
  })),
  ObjectTransform: codec(
    0xea6da4b4,
    (w, m) => {
      w.umid(m.id, 'id');
      writeTransform(w, m.transform);
    },
    (r) => ({ type: 'ObjectTransform', id: r.umid(), transform: readTransform(r) }),
  ),
  RemoveObjects: codec(
    0x6bf88c24,
    (w, m) => writeList(w, m.objects, writeUmidElement),
    (r) => ({ type: 'RemoveObjects', objects: readList(r, UMID_SIZE, readUmidElement) }),
  ),
  RemoveUsers: codec(
    0xf5a14bb0,
    (w, m) => writeList(w, m.users, writeUmidElement),
    (r) => ({ type: 'RemoveUsers', users: readList(r, UMID_SIZE, readUmidElement) }),
  ),
  SetWorld: codec(
    0xccdf2e49,
    (w, m) => {
      w.umid(m.id, 'id');
      w.string(m.name);
      w.umid(m.avatar, 'avatar');
      w.umid(m.owner, 'owner');
      w.umid(m.avatar3dAssetId, 'avatar3dAssetId');
    },
    (r) => ({
      type: 'SetWorld',
      id: r.umid(),
      name: r.string(),
      avatar: r.umid(),
      owner: r.umid(),
      avatar3dAssetId: r.umid(),
    }),
  ),
  Signal: codec(
    0xadc1964d,
    (w, m) => w.u32(m.value),
    (r) => ({ type: 'Signal', value: r.uvarint32() }),
  ),
  TeleportRequest: codec(
    0x78da55d9,
    (w, m) => w.umid(m.target),
    (r) => ({ type: 'TeleportRequest', target: r.umid() }),
  ),
  TriggerVisualEffects: codec(
    0xd96089c6,
    (w, m) => writeList(w, m.effects, (w, e) => w.string(e.name)),
    (r) => ({ type: 'TriggerVisualEffects', effects: readList(r, 1, (r) => ({ name: r.string() })) }),
  ),
  UnlockObject: codec(
    0xa54edeb9,
    (w, m) => w.umid(m.id),
    (r) => ({ type: 'UnlockObject', id: r.umid() }),
  ),
  UserAction: codec(
    0xef1a2e75,
    (w, m) => w.u32(m.value),
    (r) => ({ type: 'UserAction', value: r.uvarint32() }),
  ),
  UserData: codec(0xf702ef5f, writeUserData, (r) => ({ type: 'UserData', ...readUserData(r) })),
  UserStakedToOdyssey: codec(
    0x10dacabc,
    (w, m) => {
      w.string(m.transactionHash);
      w.string(m.wallet);
      w.umid(m.objectId, 'objectId');
      w.string(m.amount);
      w.string(m.comment);
      w.int(m.kind, 'kind');
    },
    (r) => ({
      type: 'UserStakedToOdyssey',
      transactionHash: r.string(),
      wallet: r.string(),
      objectId: r.umid(),
      amount: r.string(),
      comment: r.string(),
      kind: r.int(),
    }),
  ),
  UserTransform: codec(0x3bc97ebb, writeUserTransform, (r) => ({
    type: 'UserTransform',
    ...readUserTransform(r),
  })),
  UsersTransformList: codec(
    0x285954b8,
    (w, m) => writeList(w, m.value, writeUserTransform),
    (r) => ({ type: 'UsersTransformList', value: readList(r, USER_TRANSFORM_MIN, readUserTransform) }),
  ),
};
