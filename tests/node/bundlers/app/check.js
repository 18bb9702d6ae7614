// What every bundler's page runs: attach swarmcast to hls.js, play the VOD
// given in ?src=, and report whether the engine delivered a segment with no
// `error` event. Only the engine (wasm) emits `segmentloaded`, so one event
// proves the wasm was found, compiled and instantiated. loadSource() comes
// before attach() resolves, as in players that create hls.js themselves.
// ?wasmUrl= loads the engine from there instead of the embedded copy.
export async function check(Hls, Swarmcast) {
  const params = new URLSearchParams(location.search);
  const errors = [];
  const hls = new Hls();
  const attached = Swarmcast.attach(hls, { trackers: [], wasmUrl: params.get("wasmUrl") ?? undefined });
  hls.loadSource(params.get("src"));
  hls.attachMedia(document.querySelector("video"));
  const p2p = await attached;
  p2p.addEventListener("error", (e) => errors.push(e.detail));
  const loaded = new Promise((resolve) => p2p.addEventListener("segmentloaded", (e) => resolve(e.detail)));
  const segment = await Promise.race([loaded, new Promise((resolve) => setTimeout(resolve, 10_000, null))]);
  return { supported: Swarmcast.isSupported(), segment, errors, stats: p2p.stats() };
}
