/** What a user does in a world: moving and high-fiving. */
import {
  encode,
  type HighFive,
  NotificationType,
  type TransformNoScale,
} from '../../protocol/posbus/index.ts';
import { isRemote } from './remote-member.ts';
import type { Member } from './room.ts';
import type { WorldController } from './world-controller.ts';
import { insideBound, isFiniteTransform } from './world-rules.ts';

export class UserController {
  private readonly worlds: WorldController;

  constructor(components: { worlds: WorldController }) {
    this.worlds = components.worlds;
  }

  /** Records a new pose; false (and nothing changes) when the pose is not finite or out of the world's bounds. */
  move(member: Member, pose: TransformNoScale): boolean {
    const seat = member.seat;
    if (!seat) return false;
    const room = seat.room;
    if (!isFiniteTransform(pose) || !insideBound(room.bound, pose.position)) return false;
    room.moveSeat(seat, pose);
    return true;
  }

  /**
   * Delivers a high-five to its receiver, with the real sender's id whatever the client wrote. A receiver
   * that is not in the sender's world gets the sender a "Target user not found" notification.
   */
  highFive(member: Member, message: HighFive): void {
    const senderId = member.user.id;
    if (message.receiverId === senderId) return;
    const receiver = this.worlds.roomOf(senderId)?.member(message.receiverId);
    if (!receiver) {
      member.sendReliable(
        encode({
          type: 'Notification',
          notifyType: NotificationType.TextMessage,
          value: 'Target user not found',
        }),
      );
      return;
    }
    const highFive: HighFive = {
      type: 'HighFive',
      senderId,
      receiverId: message.receiverId,
      message: message.message,
    };
    if (isRemote(receiver)) receiver.highFive(highFive);
    else receiver.sendReliable(encode(highFive));
  }
}
