// Entry point of the npm package. `Swarmcast.attach(hls, options)` loads the
// wasm engine once per page, installs the fragment loader on an hls.js
// instance, and re-exposes the engine's events and stats as a small
// EventTarget. Nothing here throws into the page: failures become "error"
// events and the loader falls back to hls.js's own HTTP loader.
import { Node } from "../pkg/swarmcast_loader.js";
import { fragmentLoader } from "./loader.js";
import { isSupported } from "./support.js";
import { loadWasm } from "./wasm.js";

// Only attach() constructs a Swarmcast: one made with `new` would never start.
const ATTACH = Symbol("attach");

// The stats object from the engine's flat list: eight counters, then
// id, downloaded and uploaded bytes of each peer.
const toStats = ([httpBytes, p2pBytes, rejectedBytes, uploadBytes, http, p2p, lateDeliveries, p2pFallbacks, ...list]) => {
  const peers = [];
  for (let i = 0; i < list.length; i += 3) {
    peers.push({ id: peerHex(list[i]), downloadedBytes: list[i + 1], uploadedBytes: list[i + 2] });
  }
  return { httpBytes, p2pBytes, rejectedBytes, uploadBytes, peers, segments: { http, p2p }, lateDeliveries, p2pFallbacks };
};

// A peer id as pages see it: 40 hex digits from the engine's 20 bytes. Other
// values (null for HTTP, a connection number before the handshake) pass as they are.
const peerHex = (id) =>
  id instanceof Uint8Array ? Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("") : id;

// stats() before the engine runs (or if it could not start).
const EMPTY_STATS = Object.freeze(toStats([0, 0, 0, 0, 0, 0, 0, 0]));

// The options the engine reads, in the order it expects them (shell/config.rs).
const FLAGS = ["p2p", "upload", "testOnlyCorruptUploads", "validateP2p"];
const NUMBERS = [
  "maxPeers",
  "maxHttpDownloads",
  "maxP2PDownloads",
  "memoryCapBytes",
  "httpWindowSeconds",
  "p2pWindowSeconds",
  "seedWindowSeconds",
  "p2pTimeoutMs",
  "httpTimeoutMs",
];

// The engine's constructor arguments; absent or mistyped options become -1 or
// undefined, which keep the engine's defaults, so a typo never breaks playback.
const engineArgs = (o) => [
  new Float64Array([
    ...FLAGS.map((k) => (typeof o[k] === "boolean" ? +o[k] : -1)),
    ...NUMBERS.map((k) => (typeof o[k] === "number" && o[k] >= 0 ? o[k] : -1)),
  ]),
  Array.isArray(o.trackers) ? o.trackers : [],
  typeof o.swarmId === "string" ? o.swarmId : undefined,
  // A public STUN server by default, so that viewers behind NAT find each other.
  (typeof o.rtcConfig === "object" && o.rtcConfig) || { iceServers: [{ urls: "stun:stun.l.google.com:19302" }] },
];

// The key that names a rendition alike for every viewer: its playlist URL without query.
const rendition = (url) => url.replace(/[?#].*$/, "");

// The engine must hear of the playlists from the first one on, but players
// built on hls.js often call loadSource() right after creating it, while the
// wasm is still loading: such a call is held, and made once attach() is done.
function holdLoadSource(hls) {
  const own = Object.getOwnPropertyDescriptor(hls, "loadSource");
  let url = null;
  const forget = () => (url = null); // hls.js destroyed meanwhile
  hls.loadSource = (u) => (url = u);
  hls.on("hlsDestroying", forget);
  return () => {
    hls.off("hlsDestroying", forget);
    if (own) Object.defineProperty(hls, "loadSource", own);
    else delete hls.loadSource;
    if (url !== null) hls.loadSource(url);
  };
}

export class Swarmcast extends EventTarget {
  /**
   * Enables P2P on an hls.js instance; call it before (or right before)
   * hls.loadSource(). Resolves even when the engine cannot start (an "error"
   * event follows).
   */
  static async attach(hls, options = {}) {
    const swarm = new Swarmcast(ATTACH, hls, options);
    const resume = holdLoadSource(hls);
    try {
      await loadWasm(options.wasmUrl);
      swarm.#start();
    } catch (e) {
      swarm.#fail("wasm", e);
    } finally {
      resume();
    }
    return swarm;
  }

  /** Whether this browser has WebRTC, WebAssembly (with the features used), MSE and DecompressionStream. */
  static isSupported() {
    return isSupported();
  }

  #hls;
  #options;
  #node = null; // the engine; null until the wasm is ready, and after destroy()
  #loads = new Map(); // request id -> { loader, info }
  #nextId = 1;
  #unlisten = [];

  constructor(key, hls, options) {
    if (key !== ATTACH) throw new TypeError("Swarmcast: use Swarmcast.attach(hls, options)");
    super();
    this.#hls = hls;
    this.#options = options;
  }

  /** A snapshot of bytes and segments by source, and of connected peers. */
  stats() {
    try {
      return this.#node ? toStats(this.#node.stats()) : EMPTY_STATS;
    } catch (e) {
      this.#fail("stats", e);
      return EMPTY_STATS;
    }
  }

  /** Leaves the swarm: closes peers and tracker sockets; hls.js goes on over HTTP. */
  destroy() {
    this.#unlisten.forEach((off) => off());
    this.#unlisten = [];
    if (this.#hls?.config) this.#hls.config.fLoader = undefined;
    this.#hls = null;
    const node = this.#node;
    this.#node = null;
    this.#loads.clear();
    if (node) this.#call(() => (node.destroy(), node.free()));
  }

  // --- used by the fragment loader ---

  /**
   * Asks the engine for a media segment on behalf of `loader` (setting
   * `loader.request`); false means "load it over HTTP yourself".
   */
  request(context, loader) {
    const frag = context.frag;
    // Init segments ("initSegment") and alternate audio/subtitle tracks stay on HTTP.
    if (!this.#node || typeof frag?.sn !== "number" || frag.type !== "main") return false;
    const id = this.#nextId++;
    loader.request = id;
    this.#loads.set(id, { loader, info: { url: context.url, sn: frag.sn, level: frag.level } });
    const ok = this.#call(() =>
      this.#node.load(id, context.url, context.rangeStart || 0, context.rangeEnd || 0, frag.sn, rendition(frag.baseurl)),
    );
    if (!ok) {
      this.#loads.delete(id);
      loader.request = null;
    }
    return ok;
  }

  /** Forgets a request: finished, aborted or timed out. */
  release(id) {
    if (this.#loads.delete(id)) this.#call(() => this.#node?.abort(id));
  }

  // --- engine side ---

  #start() {
    const hls = this.#hls;
    if (!hls) return; // destroyed while the wasm loaded
    const options = this.#options;
    // With a hook, peers' data is passed on only once the hook accepted it.
    const args = engineArgs({ ...options, validateP2p: typeof options.validateSegment === "function" });
    this.#node = new Node(...args, (...event) => this.#event(...event));
    hls.config.fLoader = fragmentLoader(this, hls.config.loader);
    this.#on("hlsLevelUpdated", (_, { details }) => this.#playlist(details));
    this.#on("hlsMediaAttached", (_, { media }) => this.#watch(media));
    if (hls.media) this.#watch(hls.media);
    this.#on("hlsDestroying", () => this.destroy());
  }

  // Hands a (re)loaded media playlist to the engine, flattened for wasm.
  #playlist(details) {
    const urls = [];
    const nums = [];
    for (const f of details.fragments) {
      const [rangeStart = 0, rangeEnd = 0] = f.byteRange;
      urls.push(f.url);
      nums.push(f.sn, f.start * 1000, f.duration * 1000, rangeStart, rangeEnd);
    }
    this.#call(() =>
      this.#node?.playlist(
        this.#hls.url ?? details.url,
        rendition(details.url),
        details.live,
        urls,
        new Float64Array(nums),
      ),
    );
  }

  // Keeps the engine told where playback is, so it knows which segments are due when.
  #watch(media) {
    const report = () =>
      this.#call(() =>
        this.#node?.playback(media.currentTime * 1000, !media.paused && !media.seeking && media.readyState > 2),
      );
    for (const type of ["timeupdate", "seeking", "playing", "pause", "waiting"]) {
      media.addEventListener(type, report);
      this.#unlisten.push(() => media.removeEventListener(type, report));
    }
  }

  // Engine events, flat (kinds and fields: loader-wasm/src/shell/events.rs):
  // per-request ones go to the loader, the rest to listeners.
  #event(kind, id, a, b, c, value, text) {
    if (kind < 5) text = peerHex(text);
    const load = this.#loads.get(id);
    switch (kind) {
      case 0:
        if (load) this.#deliver(id, load, value, text, [a, b, c]);
        break;
      case 1:
        this.#loads.delete(id);
        load?.loader.failure(a, b ? "segment not in any playlist" : "HTTP request failed");
        break;
      case 2:
      case 3:
        this.#emit(kind === 2 ? "peerconnect" : "peerclose", { id: text });
        break;
      case 4:
        this.#emit("bytes", { kind: ["http", "p2p", "upload"][b], bytes: a, peerId: text });
        break;
      default: {
        const detail = { where: text, message: String(value?.message ?? value) };
        this.#emit("error", a < 0 ? detail : { ...detail, tracker: a });
      }
    }
  }

  // P2P bytes go through validateSegment first; a rejection makes the engine
  // drop that peer and fetch the segment again over HTTP.
  async #deliver(id, { loader, info }, bytes, peer, timing) {
    const validate = this.#options.validateSegment;
    if (peer != null && validate) {
      let ok = false;
      try {
        ok = await validate(bytes, info);
      } catch (e) {
        this.#fail("validateSegment", e);
      }
      if (this.#loads.get(id)?.loader !== loader) return; // aborted meanwhile
      if (!ok) {
        this.#call(() => this.#node?.reject(id));
        return;
      }
      this.#call(() => this.#node?.accept(id));
    }
    this.#loads.delete(id);
    this.#emit("segmentloaded", { ...info, bytes: bytes.byteLength, source: peer == null ? "http" : "p2p", peerId: peer });
    loader.success(bytes, timing);
  }

  #on(event, handler) {
    const hls = this.#hls;
    hls.on(event, handler);
    this.#unlisten.push(() => hls.off(event, handler));
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #fail(where, error) {
    // Deferred so that listeners added right after `await attach()` hear it.
    setTimeout(() => this.#emit("error", { where, message: String(error?.message ?? error) }));
  }

  // Runs a call into the engine; a failure becomes an "error" event. Returns success.
  #call(f) {
    try {
      f();
      return true;
    } catch (e) {
      this.#fail("engine", e);
      return false;
    }
  }
}
