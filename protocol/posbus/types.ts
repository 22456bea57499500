/**
 * TypeScript shapes of every PosBus message (SPEC.md §5). Field names are the original's JSON names in
 * camelCase, except ActivityUpdate's `type` (→ `activityType`, since `type` names the message) and
 * ObjectTransform's `object_transform` (→ `transform`).
 */
import type { Umid } from './umid.ts';

export type { Umid } from './umid.ts';

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface TransformNoScale {
  position: Vec3;
  rotation: Vec3;
}

export interface Transform extends TransformNoScale {
  scale: Vec3;
}

/** A dynamically typed value of an AnyMap: what JSON can hold. */
export type AnyValue = null | string | boolean | number | AnyValue[] | AnyMap;
export interface AnyMap {
  [key: string]: AnyValue;
}

/** Asset3dType: 0 addressable, 1 gltf, 2 basic (a raw int8 on the wire). */
export type AssetFormat = number;

export interface ObjectDefinition {
  id: Umid;
  parentId: Umid;
  assetType: Umid;
  assetFormat: AssetFormat;
  name: string;
  transform: Transform;
  isEditable: boolean;
  tetheredToParent: boolean;
  showOnMinimap: boolean;
}

export interface UserData {
  id: Umid;
  name: string;
  avatar: string;
  transform: TransformNoScale;
  isGuest: boolean;
}

export interface UserTransform {
  id: Umid;
  transform: TransformNoScale;
}

export interface ActivityData {
  position: Vec3 | null;
  description: string | null;
  hash: string | null;
  tokenSymbol: string | null;
  tokenAmount: string | null;
  bcTxHash: string | null;
  bcLogIndex: string | null;
}

export const SignalType = {
  None: 0,
  DualConnection: 1,
  Ready: 2,
  InvalidToken: 3,
  Spawn: 4,
  LeaveWorld: 5,
  ConnectionFailed: 6,
  Connected: 7,
  ConnectionClosed: 8,
  WorldDoesNotExist: 9,
} as const;

export const NotificationType = {
  None: 0,
  Wow: 1,
  HighFive: 2,
  StageModeAccept: 10,
  StageModeInvitation: 11,
  StageModeSet: 12,
  StageModeStageJoin: 13,
  StageModeStageRequest: 14,
  StageModeStageDeclined: 15,
  GatheringStart: 20,
  TextMessage: 500,
  Relay: 501,
  Generic: 999,
  Legacy: 1000,
} as const;

/**
 * The text of the `Notification{TextMessage}` an odyssey-node sends right before the `Signal{9}` that answers
 * a teleport refused for pacing (`--teleports-per-minute`): to a client that knows it, that Signal means
 * "not now", not "no such world". Our extension's only use of a notice's text; the original has no pacing.
 */
export const TELEPORT_PACING_NOTICE = 'Too many teleports: wait a moment and try again';

export const Trigger = { None: 0, Wow: 1, HighFive: 2, EnteredObject: 3, LeftObject: 4, Stake: 5 } as const;

export const AssetFormats = { Addressable: 0, Gltf: 1, Basic: 2 } as const;

export interface ActivityUpdate {
  type: 'ActivityUpdate';
  activityId: Umid;
  changeType: string;
  activityType: string | null;
  data: ActivityData | null;
  userId: Umid;
  objectId: Umid;
}
export interface AddObjects {
  type: 'AddObjects';
  objects: ObjectDefinition[];
}
export interface AddPendingStake {
  type: 'AddPendingStake';
  transactionId: Umid;
  odysseyId: Umid;
  /** `0x` + 40 hex digits. */
  wallet: string;
  amount: bigint;
  comment: string;
  kind: number;
}
export interface AddUsers {
  type: 'AddUsers';
  users: UserData[];
}
export interface AttributeValueChanged {
  type: 'AttributeValueChanged';
  pluginId: Umid;
  attributeName: string;
  changeType: string;
  value: AnyMap | null;
  targetId: Umid;
}
export interface EventStart {
  type: 'EventStart';
  /** The body is this map itself; keys objectId, title, start, end, eventId in the original. */
  entries: Record<string, string>;
}
export interface FlyToMe {
  type: 'FlyToMe';
  pilot: Umid;
  pilotName: string;
  objectId: Umid;
}
export interface GenericMessage {
  type: 'GenericMessage';
  topic: string;
  data: Uint8Array;
}
export interface HandShake {
  type: 'HandShake';
  handshakeVersion: number;
  protocolVersion: number;
  token: string;
  userId: Umid;
  sessionId: Umid;
}
export interface HighFive {
  type: 'HighFive';
  senderId: Umid;
  receiverId: Umid;
  message: string;
}
export interface LockObject {
  type: 'LockObject';
  id: Umid;
}
export interface LockObjectResponse {
  type: 'LockObjectResponse';
  id: Umid;
  result: number;
  lockOwner: Umid;
}
export interface MyTransform extends TransformNoScale {
  type: 'MyTransform';
}
export interface Notification {
  type: 'Notification';
  notifyType: number;
  value: string;
}
export interface ObjectData {
  type: 'ObjectData';
  id: Umid;
  /** Render slot type (`texture`, `string`, …) → slot name → value; null = absent. */
  entries: Record<string, AnyMap | null>;
}
export interface ObjectDefinitionMessage extends ObjectDefinition {
  type: 'ObjectDefinition';
}
export interface ObjectTransform {
  type: 'ObjectTransform';
  id: Umid;
  transform: Transform;
}
export interface RemoveObjects {
  type: 'RemoveObjects';
  objects: Umid[];
}
export interface RemoveUsers {
  type: 'RemoveUsers';
  users: Umid[];
}
export interface SetWorld {
  type: 'SetWorld';
  id: Umid;
  name: string;
  avatar: Umid;
  owner: Umid;
  avatar3dAssetId: Umid;
}
export interface Signal {
  type: 'Signal';
  value: number;
}
export interface TeleportRequest {
  type: 'TeleportRequest';
  target: Umid;
}
export interface TriggerVisualEffects {
  type: 'TriggerVisualEffects';
  effects: { name: string }[];
}
export interface UnlockObject {
  type: 'UnlockObject';
  id: Umid;
}
export interface UserAction {
  type: 'UserAction';
  value: number;
}
export interface UserDataMessage extends UserData {
  type: 'UserData';
}
export interface UserStakedToOdyssey {
  type: 'UserStakedToOdyssey';
  transactionHash: string;
  wallet: string;
  objectId: Umid;
  amount: string;
  comment: string;
  kind: number;
}
export interface UserTransformMessage extends UserTransform {
  type: 'UserTransform';
}
export interface UsersTransformList {
  type: 'UsersTransformList';
  value: UserTransform[];
}

export type Message =
  | ActivityUpdate
  | AddObjects
  | AddPendingStake
  | AddUsers
  | AttributeValueChanged
  | EventStart
  | FlyToMe
  | GenericMessage
  | HandShake
  | HighFive
  | LockObject
  | LockObjectResponse
  | MyTransform
  | Notification
  | ObjectData
  | ObjectDefinitionMessage
  | ObjectTransform
  | RemoveObjects
  | RemoveUsers
  | SetWorld
  | Signal
  | TeleportRequest
  | TriggerVisualEffects
  | UnlockObject
  | UserAction
  | UserDataMessage
  | UserStakedToOdyssey
  | UserTransformMessage
  | UsersTransformList;

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;
