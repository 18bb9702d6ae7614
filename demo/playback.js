// Measures what a viewer feels, the same way for every loader: time to first
// frame, stalls, latency behind the live edge and hls.js errors. The demo's
// stats panel and the swarm benchmark both read it, so their numbers agree.
export class PlaybackMeter {
  startupMs = null; // ms from navigation start to the first rendered frame
  stalls = 0;
  stallMs = 0;
  hlsErrors = 0;
  fatalErrors = 0;
  lastError = null;
  #stallStart = null;
  #hls;
  #video;

  constructor(Hls, hls, video, log = () => {}) {
    this.#hls = hls;
    this.#video = video;
    const firstFrame = () => {
      this.startupMs = Math.round(performance.now());
      log(`first frame after ${this.startupMs} ms`);
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(firstFrame);
    else video.addEventListener("playing", firstFrame, { once: true });

    // A stall is the video waiting for data after it has started, other than
    // for a seek; it ends when playback resumes.
    video.addEventListener("waiting", () => {
      if (this.startupMs === null || video.seeking || this.#stallStart !== null) return;
      this.#stallStart = performance.now();
      this.stalls++;
      log("stall: waiting for data");
    });
    video.addEventListener("playing", () => this.#endStall());
    video.addEventListener("seeking", () => this.#endStall());

    hls.on(Hls.Events.ERROR, (_, d) => {
      this.hlsErrors++;
      if (d.fatal) this.fatalErrors++;
      this.lastError = d.details;
      log(`hls.js ${d.fatal ? "fatal " : ""}error: ${d.details}`);
    });
  }

  #endStall() {
    if (this.#stallStart === null) return;
    this.stallMs += performance.now() - this.#stallStart;
    this.#stallStart = null;
  }

  /** Seconds behind the live edge (null for VOD or before the first playlist). */
  get latency() {
    const details = this.#liveDetails();
    return details ? this.#hls.latency : null;
  }

  /**
   * Segments between the playhead and the end of the newest segment in the
   * playlist: (edge - currentTime) / target duration. hls.js starts 3 back.
   */
  get segmentsBehindEdge() {
    const details = this.#liveDetails();
    return details ? (details.edge - this.#video.currentTime) / details.targetduration : null;
  }

  #liveDetails() {
    const level = this.#hls.levels?.[this.#hls.currentLevel] ?? this.#hls.levels?.[0];
    return level?.details?.live ? level.details : null;
  }

  snapshot() {
    const ongoing = this.#stallStart === null ? 0 : performance.now() - this.#stallStart;
    return {
      startupMs: this.startupMs,
      stalls: this.stalls,
      stallMs: Math.round(this.stallMs + ongoing),
      latency: this.latency,
      segmentsBehindEdge: this.segmentsBehindEdge,
      currentTime: this.#video.currentTime,
      hlsErrors: this.hlsErrors,
      fatalErrors: this.fatalErrors,
      lastError: this.lastError,
    };
  }
}
