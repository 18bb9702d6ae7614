// The native swarm of bench/swarm/native.mjs: N swarmcast-peer viewers (and
// optionally a seeder) of one live stream, in a few processes, with churn,
// and what each process did as cumulative counters read from its /metrics
// and /proc (CPU time, resident memory).
import fs from "node:fs/promises";
import { promSum, startPeer } from "../../tests/support/servers.mjs";

/** Figures of a process that describe it now rather than add up over its life. */
const GAUGES = ["hosted", "playing", "peers", "rssMiB"];

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system, all threads) and resident MiB of a live process; null once it is gone. */
async function procUsage(pid) {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces: 14 and 15 are utime and stime.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuS = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
    const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
    const rssMiB = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
    return { cpuS, rssMiB };
  } catch {
    return null;
  }
}

/**
 * One swarmcast-peer process. `read()` returns its counters (P2P and HTTP
 * bytes, upload, late deliveries, stalls, latency and startup sums and counts, hosted and
 * playing peers, CPU s, RSS MiB) and keeps them as `last`, so a process that
 * has been stopped still reports what it did up to its last read.
 */
class PeerProcess {
  constructor(role, count, proc) {
    Object.assign(this, { role, count, proc, last: null, stopped: false });
  }

  static async start(role, count, { stream, tracker, extraArgs }) {
    return new PeerProcess(role, count, await startPeer(role, { stream, tracker, count, extraArgs }));
  }

  async read() {
    if (this.stopped) return this.last;
    const [m, usage] = await Promise.all([this.proc.metrics().catch(() => null), procUsage(this.proc.child.pid)]);
    if (!m || !usage) return this.last;
    this.last = {
      p2pBytes: promSum(m, "swarmcast_peer_download_bytes_total", 'source="p2p"'),
      httpBytes: promSum(m, "swarmcast_peer_download_bytes_total", 'source="http"'),
      uploadBytes: promSum(m, "swarmcast_peer_upload_bytes_total"),
      lateDeliveries: promSum(m, "swarmcast_peer_late_deliveries_total"),
      stalls: promSum(m, "swarmcast_peer_stalls_total"),
      latencySumS: promSum(m, "swarmcast_peer_live_latency_seconds_sum"),
      latencyCount: promSum(m, "swarmcast_peer_live_latency_seconds_count"),
      startupSumS: promSum(m, "swarmcast_peer_startup_seconds_sum"),
      startupCount: promSum(m, "swarmcast_peer_startup_seconds_count"),
      hosted: promSum(m, "swarmcast_peer_hosted"),
      playing: promSum(m, "swarmcast_peer_playing"),
      peers: promSum(m, "swarmcast_peer_connected_peers"),
      ...usage,
    };
    return this.last;
  }

  /** Reads the counters one last time, then stops the process gracefully (SIGTERM). */
  async stop() {
    await this.read();
    this.stopped = true;
    await this.proc.stop();
  }
}

/** The processes' figures added up (see `Fleet.sample`). */
function sumOf(processes) {
  const sum = {};
  for (const p of processes.filter((p) => p.last)) {
    for (const [k, v] of Object.entries(p.last)) {
      if (GAUGES.includes(k) && p.stopped) continue;
      sum[k] = (sum[k] ?? 0) + v;
    }
  }
  return sum;
}

/**
 * N viewers: `n - churners` in one process for the whole run, `churners` in a
 * second process that `churn()` replaces with a fresh one (its viewers leave,
 * new ones join). With `seeder`, a seeder beside them; viewers (and pages)
 * recognise it by its peer id and leave new segments to it by themselves.
 */
export class Fleet {
  constructor({ stream, tracker, n, churners, joinIntervalMs, liveSync, startupWaitMs = 0, seeder }) {
    const viewerArgs = [
      ...["--join-interval", `${joinIntervalMs}ms`],
      ...["--live-sync-segments", String(liveSync)],
      ...["--startup-peer-wait", `${startupWaitMs}ms`],
    ];
    Object.assign(this, { stream, tracker, n, churners, viewerArgs, withSeeder: seeder });
    /** Every viewer process started, stopped ones included (their counts still count). */
    this.viewers = [];
    /** The churning ones among them, the running one last. */
    this.churnProcesses = [];
    this.churning = null;
    this.seeder = null;
  }

  async start() {
    const common = { stream: this.stream, tracker: this.tracker };
    if (this.withSeeder) this.seeder = await PeerProcess.start("seeder", 1, { ...common, extraArgs: [] });
    const stable = this.n - this.churners;
    if (stable > 0) this.viewers.push(await PeerProcess.start("viewer", stable, { ...common, extraArgs: this.viewerArgs }));
    if (this.churners > 0) await this.#startChurners();
  }

  async #startChurners() {
    const common = { stream: this.stream, tracker: this.tracker, extraArgs: this.viewerArgs };
    this.churning = await PeerProcess.start("viewer", this.churners, common);
    this.viewers.push(this.churning);
    this.churnProcesses.push(this.churning);
  }

  /** The churning viewers leave and as many new ones join. */
  async churn() {
    if (!this.churning) return;
    await this.churning.stop();
    await this.#startChurners();
  }

  /**
   * Every process's figures now: `viewers` sums the viewer processes'
   * counters (stopped ones at their last read, so sums only grow) and the
   * running ones' gauges (hosted, playing, peers, rssMiB); `churners` the
   * same over the churning processes only; `seeder` apart.
   */
  async sample() {
    await Promise.all(this.viewers.map((p) => p.read()));
    return {
      viewers: sumOf(this.viewers),
      churners: sumOf(this.churnProcesses),
      seeder: this.seeder ? await this.seeder.read() : null,
    };
  }

  async stop() {
    await Promise.all([...this.viewers, this.seeder].filter((p) => p && !p.stopped).map((p) => p.stop()));
  }
}
