/**
 * The position stream per connection, in process: N members in one room (everyone sees everyone), all
 * walking every tick (1.5 units/s at 10 Hz, turning; rotations in degrees as the Odyssey client sends
 * them), `Room.tick` delivering to each member as a session does — classic frames passed through as they
 * are, the compact stream (node/posbus/position-stream.ts), or a classic stream under a bandwidth budget.
 * Prints a markdown table: CPU per tick and per delivered user-update (process.cpuUsage, so other load on
 * the machine counts less than in wall time), and bytes per delivered user-update on the wire (WebSocket
 * header included; the compact stream's mapping records included).
 *
 *   node scripts/bench-position-stream.ts                 # N = 100, 250
 *   node scripts/bench-position-stream.ts --n=100,500 --ticks=100
 *
 * The members are stand-ins for sessions (no sockets: this measures the tick and the per-connection
 * encoding, not the kernel's writes; the socket side is what `npm run bench:posbus` measures).
 */
import { PositionStream } from '../node/posbus/position-stream.ts';
import { type Member, Room } from '../node/world/room.ts';
import type { TransformNoScale } from '../protocol/posbus/index.ts';
import type { UserRecord } from '../storage/db/records.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIZES = arg('n', '100,250').split(',').map(Number);
const TICKS = Number(arg('ticks', '60'));
const BUDGET = Number(arg('budget', '20000'));

type Mode = 'classic' | 'compact' | 'budget';
/** Simulated time: ticks run back to back here, 100 ms apart for the budget's token bucket. */
let simNow = 0;
const wsHeader = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10);

class BenchMember implements Member {
  readonly user: UserRecord;
  readonly connected = true;
  readonly backlogged = false;
  bytes = 0;
  private readonly stream: PositionStream | undefined;
  constructor(id: string, mode: Mode, room: () => Room) {
    this.user = { id, name: id.slice(0, 8) } as UserRecord;
    if (mode !== 'classic') {
      this.stream = new PositionStream(
        {
          compact: mode === 'compact',
          budget: mode === 'budget' ? BUDGET : 0,
          selfId: id,
          selfPosition: () => room().transformOf(id)?.position,
          maxUsersPerFrame: 512,
        },
        simNow,
      );
    }
  }
  sendReliable(): void {}
  sendDroppable(frame: Uint8Array): boolean {
    // As Session.sendDroppable: the classic frame as it is, or what the stream makes of it.
    const out = this.stream ? this.stream.next(frame, simNow) : frame;
    if (out) this.bytes += out.length + wsHeader(out.length);
    return true;
  }
}

function umid(i: number): string {
  const h = i.toString(16).padStart(12, '0');
  return `0190a1b2-c3d4-7e5f-8a6b-${h}`;
}

function run(n: number, mode: Mode) {
  simNow = 1_000_000;
  let room!: Room;
  room = new Room('0190a1b2-c3d4-7e5f-8a6b-ffffffffffff', {
    batchSize: 512,
    refreshMs: 5000,
    interestCellSize: 0,
    entryBatchSize: 100,
  });
  const members = Array.from({ length: n }, (_, i) => new BenchMember(umid(i), mode, () => room));
  const poses: TransformNoScale[] = members.map((_, i) => ({
    position: { x: Math.fround((i % 50) * 3.7 - 90), y: 0, z: Math.fround(Math.floor(i / 50) * 4.1 - 40) },
    rotation: { x: 0, y: Math.fround((i * 37) % 360), z: 0 },
  }));
  for (let i = 0; i < n; i++) room.add(members[i], poses[i]);
  let now = 1_000_000;
  simNow = now;
  const step = (t: number) => {
    for (let i = 0; i < n; i++) {
      const p = poses[i];
      const heading = ((i * 0.7 + t * 0.05) % (2 * Math.PI)) - Math.PI;
      p.position.x = Math.fround(p.position.x + Math.cos(heading) * 0.15);
      p.position.z = Math.fround(p.position.z + Math.sin(heading) * 0.15);
      p.rotation.y = Math.fround((heading * 180) / Math.PI);
      room.move(members[i].user.id, p);
    }
    now += 100;
    simNow = now;
    room.tick(now);
  };
  // Warm-up (and the compact stream's mappings) outside the measurement.
  for (let t = 0; t < 10; t++) step(t);
  for (const m of members) m.bytes = 0;
  const cpu = process.cpuUsage();
  for (let t = 10; t < 10 + TICKS; t++) step(t);
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const bytes = members.reduce((s, m) => s + m.bytes, 0);
  const updates = n * n * TICKS; // everyone moved every tick, everyone sees everyone
  return {
    cpuMsPerTick: cpuMs / TICKS,
    nsPerUpdate: (cpuMs * 1e6) / updates,
    bytesPerUpdate: bytes / updates,
  };
}

console.log(
  `Position stream per connection: ${TICKS} ticks, everyone moving every tick, everyone seeing everyone.`,
);
console.log(
  `Budget rows: ${BUDGET} bytes/s per client (fewer updates delivered: bytes per *possible* update).\n`,
);
console.log('| N | stream | CPU ms per tick | CPU ns per user-update | bytes per user-update |');
console.log('| ---: | --- | ---: | ---: | ---: |');
for (const n of SIZES) {
  for (const mode of ['classic', 'compact', 'budget'] as Mode[]) {
    const r = run(n, mode);
    console.log(
      `| ${n} | ${mode} | ${r.cpuMsPerTick.toFixed(2)} | ${r.nsPerUpdate.toFixed(0)} | ${r.bytesPerUpdate.toFixed(1)} |`,
    );
  }
}
