// What every bundler's page runs: attach swarmcast to hls.js, play the VOD
// given in ?src=, and report whether the engine delivered a segment with no
// `error` event. Only the engine (wasm) emits `segmentloaded`, so one event
// proves the wasm was found, compiled and instantiated.
export async function check(Hls, Swarmcast) {
  const src = new URLSearchParams(location.search).get("src");
  const errors = [];
  const hls = new Hls();
  const p2p = await Swarmcast.attach(hls, { trackers: [] });
  p2p.addEventListener("error", (e) => errors.push(e.detail));
  const loaded = new Promise((resolve) => p2p.addEventListener("segmentloaded", (e) => resolve(e.detail)));
  hls.loadSource(src);
  hls.attachMedia(document.querySelector("video"));
  const segment = await Promise.race([loaded, new Promise((resolve) => setTimeout(resolve, 10_000, null))]);
  return { supported: Swarmcast.isSupported(), segment, errors, stats: p2p.stats() };
}
