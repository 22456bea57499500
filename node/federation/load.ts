/**
 * What this node announces as its load: PosBus sessions against the capacity its operator sized it for,
 * and the process's CPU use since the previous sample. CPU is measured per process (not the host's load
 * average) so that several nodes on one host each report their own, and on every OS.
 */
import { cpuUsage } from 'node:process';
import type { AnnouncedLoad } from '../../protocol/gossip/index.ts';

export class LoadMeter {
  private readonly sessions: () => number;
  private readonly maxSessions: number;
  private lastCpu = cpuUsage();
  private lastAt = performance.now();

  constructor(sessions: () => number, maxSessions: number) {
    this.sessions = sessions;
    this.maxSessions = maxSessions;
  }

  /** The load now; CPU is averaged over the time since the previous call. */
  sample(): AnnouncedLoad {
    const now = performance.now();
    const used = cpuUsage(this.lastCpu);
    const elapsedMs = now - this.lastAt;
    this.lastCpu = cpuUsage();
    this.lastAt = now;
    const cpu = elapsedMs > 0 ? (used.user + used.system) / 1000 / elapsedMs : 0;
    return {
      sessions: this.sessions(),
      maxSessions: this.maxSessions,
      cpu: Math.round(Math.min(cpu, 4096) * 1000) / 1000,
    };
  }
}
