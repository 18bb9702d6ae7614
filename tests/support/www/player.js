// The page every browser test plays: hls.js, plus swarmcast attached with the
// options given in the URL, and a window.player object that records what a test
// asserts on (playback progress, hls.js errors, swarmcast events and stats).
//
// URL parameters:
//   src       stream URL (required)
//   opts      JSON of Swarmcast.attach options; absent = plain hls.js, no swarmcast
//   validate  name of a validateSegment hook from VALIDATORS below
//   auth      name of a way to authenticate HTTP loads, from AUTH below
//   hls       JSON of hls.js config overrides (e.g. a short maxBufferLength)
//   record    present: hash every fragment hls.js receives (see record.js)
import Hls from "/vendor/hls.js/hls.mjs";
import { recordFragments } from "./record.js";

const params = new URLSearchParams(location.search);
const video = document.getElementById("video");

// Structural checks that corrupted bytes (e.g. inverted) cannot pass.
const VALIDATORS = {
  // MPEG-TS packets are 188 bytes, each starting with the sync byte 0x47;
  // fMP4 is a sequence of boxes whose sizes add up to the whole buffer.
  media(bytes) {
    const b = new Uint8Array(bytes);
    if (b.length === 0) return false;
    if (b[0] === 0x47) {
      if (b.length % 188 !== 0) return false;
      for (let i = 0; i < b.length; i += 188) if (b[i] !== 0x47) return false;
      return true;
    }
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = 0;
    while (at + 8 <= b.length) {
      const size = view.getUint32(at);
      const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
      if (size < 8 || !/^[a-z0-9 ]{4}$/.test(type)) return false;
      at += size;
    }
    return at === b.length;
  },
};

// Ways a page authenticates to an origin that refuses anonymous requests
// (tests/browser/http-auth.test.mjs): through hls.js's own config, or
// through swarmcast's httpRequestSetup hook.
const AUTH_HEADER = "x-swarmcast-test";
const AUTH = {
  xhrSetup: { hls: { xhrSetup: (xhr) => xhr.setRequestHeader(AUTH_HEADER, "ok") } },
  httpRequestSetup: { swarmcast: { httpRequestSetup: (request) => void (request.headers[AUTH_HEADER] = "ok") } },
};

const player = {
  hls: null,
  p2p: null,
  events: [], // swarmcast events: { type, detail, t (page time), at (wall clock) }
  hlsErrors: [], // every hls.js error: { type, details, fatal, sn, level, code, message }
  validations: [], // { ok, info } for every validateSegment call
  recorder: null, // with ?record: what hls.js received (see record.js)
  fragsLoaded: 0,
  startedAt: performance.now(),
  ready: null,
  /** With ?record: the fragments hls.js received from index `from` on, hashed. */
  recorded: (from = 0) => player.recorder.recorded(from),
  snapshot() {
    const buffered = [];
    for (let i = 0; i < video.buffered.length; i++) buffered.push([video.buffered.start(i), video.buffered.end(i)]);
    return {
      currentTime: video.currentTime,
      paused: video.paused,
      readyState: video.readyState,
      buffered,
      fragsLoaded: player.fragsLoaded,
      fatal: player.hlsErrors.filter((e) => e.fatal),
      hlsErrors: player.hlsErrors.length,
      stats: player.p2p ? player.p2p.stats() : null,
      eventCounts: player.events.reduce((m, e) => ((m[e.type] = (m[e.type] ?? 0) + 1), m), {}),
      validations: player.validations.length,
      rejected: player.validations.filter((v) => !v.ok).length,
    };
  },
};
window.player = player;

player.ready = (async () => {
  const auth = AUTH[params.get("auth")] ?? {};
  const hls = new Hls({ ...JSON.parse(params.get("hls") ?? "{}"), ...auth.hls });
  player.hls = hls;
  if (params.has("record")) player.recorder = recordFragments(hls);
  hls.on(Hls.Events.ERROR, (_, d) =>
    player.hlsErrors.push({
      type: d.type,
      details: d.details,
      fatal: d.fatal,
      sn: d.frag?.sn,
      level: d.frag?.level,
      code: d.response?.code,
      message: String(d.error?.stack ?? d.reason ?? ""),
    }),
  );
  hls.on(Hls.Events.FRAG_LOADED, () => player.fragsLoaded++);

  if (params.has("opts")) {
    const { Swarmcast } = await import("/dist/swarmcast.js");
    const opts = { ...JSON.parse(params.get("opts")), ...auth.swarmcast };
    const check = VALIDATORS[params.get("validate")];
    if (check) {
      opts.validateSegment = (bytes, info) => {
        const ok = check(bytes);
        player.validations.push({ ok, info });
        return ok;
      };
    }
    const p2p = await Swarmcast.attach(hls, opts);
    player.p2p = p2p;
    const types = ["segmentloaded", "peerconnect", "peerclose", "bytes", "error"];
    types.push("segmenterror", "segmentabort", "trackererror", "trackerwarning");
    for (const type of types) {
      p2p.addEventListener(type, (e) => {
        if (type !== "bytes") player.events.push({ type, detail: e.detail, t: performance.now(), at: Date.now() });
      });
    }
  }
  hls.loadSource(params.get("src"));
  hls.attachMedia(video);
  video.play().catch(() => {}); // autoplay is allowed by a Chromium flag; muted anyway
})();
