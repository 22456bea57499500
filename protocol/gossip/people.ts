/**
 * People across nodes, on a world's people topic: who is in the world on the publishing node (joins,
 * leaves, and a periodic roster that keeps them alive on other nodes), high-fives and lock claims.
 * Positions travel apart, on the positions topic, as a PosBus `UsersTransformList` frame.
 */
import {
  decodeRecord,
  encodeCbor,
  finite,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  list,
  map,
  text,
  uuid,
} from './codec.ts';

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface Pose {
  position: Vec3;
  rotation: Vec3;
}

/** What other nodes need to show a person: never a wallet or anything private. */
export interface RemotePerson {
  id: string;
  name: string;
  isGuest: boolean;
  pose: Pose;
}

/**
 * Joins, leaves and rosters carry `at`: the sender's clock in µs since 1970, strictly increasing per sender. Gossip
 * keeps no order between messages and anyone may send a signed message again later, so a receiver applies
 * one about a person only if it is later than the last it applied from that node about that person.
 * Optional: nodes of earlier versions send none, and theirs are taken as they come.
 */
export type PeopleMessage =
  | { t: 'join'; person: RemotePerson; at?: number }
  | { t: 'leave'; userId: string; at?: number }
  /** Everyone in the world on the publishing node; when complete, anyone missing from it has left. */
  | { t: 'roster'; people: RemotePerson[]; complete: boolean; at?: number }
  | { t: 'highfive'; from: string; to: string; message: string }
  /** A lock claim (`locked`) or release on an object; concurrent claims resolve by the earliest stamp. */
  | { t: 'lock'; objectId: string; userId: string; stamp: string; locked: boolean };

/** The people messages that carry `at`: who is where. */
export type PresenceMessage = Extract<PeopleMessage, { t: 'join' | 'leave' | 'roster' }>;

export const peopleTopic = (worldId: string) => `/odyssey/world/${worldId}/people/1`;
export const positionsTopic = (worldId: string) => `/odyssey/world/${worldId}/positions/1`;

/** A roster longer than this is split by the sender; a receiver refuses more. */
export const MAX_ROSTER = 2000;

export function encodePeople(message: PeopleMessage): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...message });
}

export function decodePeople(bytes: Uint8Array, maxBytes: number): PeopleMessage {
  const m = decodeRecord(bytes, maxBytes);
  switch (m.t) {
    case 'join':
      return withAt({ t: 'join', person: readPerson(map(m, 'person')) }, m);
    case 'leave':
      return withAt({ t: 'leave', userId: uuid(m, 'userId') }, m);
    case 'roster':
      if (typeof m.complete !== 'boolean') throw new GossipDecodeError('bad_field', 'complete');
      return withAt(
        {
          t: 'roster',
          complete: m.complete,
          people: list(m, 'people', MAX_ROSTER).map((p) => {
            if (!isRecord(p)) throw new GossipDecodeError('bad_field', 'people');
            return readPerson(p);
          }),
        },
        m,
      );
    case 'highfive':
      return { t: 'highfive', from: uuid(m, 'from'), to: uuid(m, 'to'), message: text(m, 'message', 1000) };
    case 'lock': {
      if (typeof m.locked !== 'boolean') throw new GossipDecodeError('bad_field', 'locked');
      return {
        t: 'lock',
        objectId: uuid(m, 'objectId'),
        userId: uuid(m, 'userId'),
        stamp: text(m, 'stamp', 200),
        locked: m.locked,
      };
    }
    default:
      throw new GossipDecodeError('bad_kind', String(m.t));
  }
}

/** The message with the sender's `at`, when it sent one: a whole number of µs, not before 1970. */
function withAt(message: PresenceMessage, m: Record<string, unknown>): PresenceMessage {
  if (m.at === undefined) return message;
  if (typeof m.at !== 'number' || !Number.isSafeInteger(m.at) || m.at < 0)
    throw new GossipDecodeError('bad_field', 'at');
  message.at = m.at;
  return message;
}

function readPerson(p: Record<string, unknown>): RemotePerson {
  if (typeof p.isGuest !== 'boolean') throw new GossipDecodeError('bad_field', 'isGuest');
  const pose = map(p, 'pose');
  return { id: uuid(p, 'id'), name: text(p, 'name', 128), isGuest: p.isGuest, pose: readPose(pose) };
}

function readPose(pose: Record<string, unknown>): Pose {
  return { position: readVec(map(pose, 'position')), rotation: readVec(map(pose, 'rotation')) };
}

function readVec(v: Record<string, unknown>): Vec3 {
  return { x: finite(v, 'x'), y: finite(v, 'y'), z: finite(v, 'z') };
}
