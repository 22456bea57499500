/**
 * A stand-in for what a room asks of a member (a PosBus session, world/room.ts `Member`): it records the
 * frames it is sent and, when it corks, its cork and uncork calls. For tests of Room itself; the real
 * session is exercised over real sockets elsewhere.
 */
import type { Member } from '../../node/world/room.ts';
import { decode, type UserTransform } from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';

export type MemberEvent = 'cork' | 'uncork' | Uint8Array;

export type StandInMember = Member & { events: MemberEvent[] };

export function standInMember(id: number, opts: { corks?: boolean } = {}): StandInMember {
  const events: MemberEvent[] = [];
  const user: UserRecord = {
    id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    name: `u${id}`,
    isGuest: true,
    avatar: '',
    createdAt: 0,
    updatedAt: 0,
    lastSeenAt: 0,
  };
  const m: StandInMember = {
    user,
    connected: true,
    backlogged: false,
    events,
    sendReliable: (frame) => events.push(frame),
    sendDroppable: (frame) => {
      events.push(frame);
      return true;
    },
  };
  if (opts.corks) {
    m.cork = () => events.push('cork');
    m.uncork = () => events.push('uncork');
  }
  return m;
}

/** The x of each position of user `id` the member was sent, in order. */
export function positionsSent(m: StandInMember, id: string): number[] {
  return m.events
    .filter((e): e is Uint8Array => e instanceof Uint8Array)
    .map((f) => decode(f))
    .flatMap((msg) => (msg.type === 'UsersTransformList' ? msg.value : []))
    .filter((u: UserTransform) => u.id === id)
    .map((u) => u.transform.position.x);
}
