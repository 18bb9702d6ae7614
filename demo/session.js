// One playback: an engine playing a stream into a <video>, measured by a
// PlaybackMeter. Its stats() is what window.swarmcast.stats() returns in the
// demo and what the swarm benchmark collects from every page.
import Hls from "/vendor/hls.js/hls.mjs";
import { PlaybackMeter } from "./playback.js";

/** Starts playing `src` in `video` through `engine` (see engines.js). */
export async function startSession({ video, src, tracker, engine, log = () => {}, onSegment }) {
  const { hls, stats } = await engine({ Hls, tracker, log, onSegment });
  const meter = new PlaybackMeter(Hls, hls, video, log);
  hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => log(`playlist loaded: ${d.levels.length} level(s)`));
  hls.loadSource(src);
  hls.attachMedia(video);
  video.play().catch(() => log("autoplay blocked: press play"));
  return {
    hls,
    Hls,
    /** Cumulative bytes by source, peers, playback quality so far, and the level playing. */
    stats() {
      const s = stats();
      return {
        ...s,
        httpBytes: s.httpBytes ?? 0,
        p2pBytes: s.p2pBytes ?? 0,
        uploadBytes: s.uploadBytes ?? 0,
        peers: s.peers ?? [],
        level: hls.currentLevel,
        autoLevel: hls.autoLevelEnabled,
        ...meter.snapshot(),
      };
    },
  };
}
