/**
 * A person who is in a world on another node. Rooms hold them like local members, so that local people
 * get their `AddUsers`, positions and `RemoveUsers` through the same tick and fan-out; frames sent to
 * them go nowhere (their own node sends them what they see), except what is meant for them alone, such
 * as a high-five, which goes back over the network through `forward`.
 */
import type { HighFive } from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { Member, Seat } from './room.ts';

export class RemoteMember implements Member {
  readonly user: UserRecord;
  /** The peer id of the node the person is connected to. */
  readonly nodeId: string;
  readonly connected = true;
  readonly backlogged = false;
  readonly remote = true;
  seat: Seat | undefined = undefined;
  private readonly forward: (message: HighFive) => void;

  constructor(user: UserRecord, nodeId: string, forward: (message: HighFive) => void) {
    this.user = user;
    this.nodeId = nodeId;
    this.forward = forward;
  }

  sendReliable(): void {}

  sendDroppable(): boolean {
    return true;
  }

  highFive(message: HighFive): void {
    this.forward(message);
  }
}

export function isRemote(member: Member): member is RemoteMember {
  return (member as Partial<RemoteMember>).remote === true;
}

/** The user record a remote person is shown with: name and guest flag only, nothing private. */
export function remoteUser(id: string, name: string, isGuest: boolean): UserRecord {
  return { id, name, isGuest, avatar: '', createdAt: 0, updatedAt: 0 };
}
