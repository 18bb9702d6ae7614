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

// Bytes (a Uint8Array or an ArrayBuffer) as lowercase hex.
const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

// A peer id as pages see it: 40 hex digits from the engine's 20 bytes. Other
// values (null for HTTP, a connection number before the handshake) pass as they are.
const peerHex = (id) => (id instanceof Uint8Array ? hex(id) : id);

// The SHA-256 an origin published for a fragment (#EXT-X-SWARMCAST-DIGEST,
// which hls.js keeps in frag.tagList), as lowercase hex; undefined if none.
const publishedDigest = (frag) => {
  const value = frag.tagList?.find((t) => t[0] === "EXT-X-SWARMCAST-DIGEST")?.[1] ?? "";
  return /SHA256=([0-9a-f]{64})/i.exec(value)?.[1].toLowerCase();
};


// Whether an hls.js error blames a fragment's bytes: it could not parse,
// decrypt or append them. Others name no fault in them: bufferAppendNoProgress
// comes when a busy page appends a fragment whose time range is buffered
// already (punishing its peer for that cut healthy pages off the swarm), and
// an append cut short by detachMedia() fails with HlsJsTrackRemovedError.
const blamesBytes = (details, error) =>
  ["fragParsingError", "fragDecryptError", "bufferAppendError"].includes(details) &&
  error?.name !== "HlsJsTrackRemovedError";

// The SegmentInfo of an hls.js loader context.
const segmentInfo = ({ url, frag }) => ({ url, sn: frag?.sn, level: frag?.level, type: frag?.type });

// A peer id for event details: null when the peer is not known by its id
// (HTTP, or a connection that closed before or after its handshake).
const knownPeer = (id) => (typeof id === "string" ? id : null);

// The options the engine reads, in the order it expects them (shell/config.rs).
const FLAGS = ["p2p", "upload", "testOnlyCorruptUploads", "validateP2p", "download"];
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
  "startupPeerWaitMs",
];

// What configure() may change (SwarmcastSettings), and of those, what starts
// a new engine (see configure).
const SETTINGS = ["p2p", "upload", "download", "trackers", ...NUMBERS];
const RESTART = ["p2p", "upload", "trackers"];

// The engine's constructor (and configure) arguments; absent or mistyped
// options become -1 or undefined, which keep the engine's defaults, so a typo
// never breaks playback.
const engineArgs = (o) => [
  [
    ...FLAGS.map((k) => (typeof o[k] === "boolean" ? +o[k] : -1)),
    ...NUMBERS.map((k) => (typeof o[k] === "number" && o[k] >= 0 ? o[k] : -1)),
  ],
  Array.isArray(o.trackers) ? o.trackers : [],
  typeof o.swarmId === "string" ? o.swarmId : undefined,
  // A public STUN server by default, so that viewers behind NAT find each other.
  (typeof o.rtcConfig === "object" && o.rtcConfig) || { iceServers: [{ urls: "stun:stun.l.google.com:19302" }] },
];

// hls.js's fragment types, as the engine numbers stream kinds.
const KINDS = { main: 0, audio: 1, subtitle: 2 };

// A stream's name, the same for every viewer of the content (the engine
// hashes it). By default its media playlist URL, query and all. With a swarm
// id, URLs may carry per-viewer tokens, so it is the stream's attributes in
// the master playlist instead; not its index, which differs between browsers
// that drop levels they cannot decode. Main renditions are named as the
// engine's main_stream_name names them, which native peers use.
const streamName = (hls, type, index, url, bySwarmId) => {
  if (!bySwarmId) return `${type} ${url}`;
  if (type === "main") {
    const l = hls.levels?.[index] ?? {};
    const a = l.attrs ?? {};
    return `main/${l.bitrate}/${l.width}x${l.height}/${l.frameRate}/${a["VIDEO-RANGE"] ?? ""}/${a["HDCP-LEVEL"] ?? ""}/${a.CODECS ?? ""}`;
  }
  // NAME is unique within a group (RFC 8216, 4.3.4.1.1).
  const t = (type === "audio" ? hls.audioTracks : hls.subtitleTracks)?.[index] ?? {};
  return `${type}/${t.groupId}/${t.name}/${t.lang}`;
};

// How a fragment's byte range is keyed ("" for a whole resource).
const rangeKey = (url, start, end) => `${url} ${end ? `${start}-${end}` : ""}`;

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
  #settings; // the options with every configure() applied, for the engine (#options: as attached)
  #node = null; // the engine; null until the wasm is ready, and after destroy()
  #loads = new Map(); // request id -> { loader, info }
  #nextId = 1;
  #unlisten = [];
  #HttpLoader = null; // the loader class hls.js would use for fragments
  #names = new Map(); // "type:index" -> stream name, from the playlists hls.js loaded
  #frags = new Map(); // stream name -> Map(rangeKey -> hls.js Fragment), for prefetches
  #prefetches = new Map(); // engine fetch id -> the page's loader running it
  #integrity = "auto"; // "auto" | "required" | "off": checking peers' data against published digests
  // hls.js Fragment -> how a peer delivered it: the request id (0 if it
  // matched a published digest); -1 once hls.js could not use it.
  #fromPeers = new WeakMap();
  #unanswered = 0; // loads the engine left unanswered since it last answered one
  #carried = [0, 0, 0, 0, 0, 0, 0, 0]; // stats counts of the engines stopped so far

  constructor(key, hls, options) {
    if (key !== ATTACH) throw new TypeError("Swarmcast: use Swarmcast.attach(hls, options)");
    super();
    this.#hls = hls;
    this.#options = options;
    // The switches' defaults made explicit, so configure() sees what changes.
    this.#settings = { p2p: true, upload: true, ...options };
    if (["required", "off"].includes(options.integrity)) this.#integrity = options.integrity;
  }

  /** A snapshot of bytes and segments by source, and of connected peers. */
  stats() {
    try {
      return toStats(this.#withCarried(this.#node?.stats()));
    } catch (e) {
      this.#fail("stats", e);
      this.#abandonEngine();
      return toStats(this.#carried);
    }
  }

  /**
   * Changes settings while playing (see SwarmcastSettings); settings left
   * out, and options fixed by attach(), keep their value.
   */
  configure(settings) {
    const changed = SETTINGS.filter((k) => k in settings && settings[k] !== this.#settings[k]);
    for (const k of changed) this.#settings[k] = settings[k];
    // Switches and limits change in the running engine. Joining or leaving
    // the swarm, serving it, or its trackers start a new engine (its loads
    // in flight finish over HTTP; stats carry on).
    if (changed.some((k) => RESTART.includes(k))) this.#restartEngine();
    else this.#call(() => this.#node?.configure(engineArgs(this.#settings)[0]));
  }

  /**
   * Leaves the swarm: closes peers and tracker sockets. Loads in flight are
   * handed to hls.js's own loader, and hls.js goes on over HTTP.
   */
  destroy() {
    this.#unlisten.forEach((off) => off());
    this.#unlisten = [];
    // Puts back the page's own fragment loader (none: hls.js's default).
    const config = this.#hls?.config;
    if (config && this.#HttpLoader) config.fLoader = this.#HttpLoader === config.loader ? undefined : this.#HttpLoader;
    this.#hls = null;
    this.#stopEngine();
  }

  // --- used by the fragment loader ---

  /**
   * Asks the engine for a media segment on behalf of `loader` (setting
   * `loader.request`); false means "load it over HTTP yourself".
   */
  request(context, loader) {
    const frag = context.frag;
    // Init segments ("initSegment") stay on HTTP, and so does any fragment
    // of a stream whose playlist the engine has not seen.
    const stream = this.#names.get(`${frag?.type}:${frag?.level}`);
    // A fragment a peer delivered and hls.js could not use is retried over HTTP.
    if (!this.#node || typeof frag?.sn !== "number" || stream === undefined || this.#fromPeers.get(frag) < 0)
      return false;
    const digest = this.#integrity === "off" ? undefined : publishedDigest(frag);
    // integrity "required": a segment without a published digest never comes from a peer.
    if (this.#integrity === "required" && !digest) return false;
    const id = this.#nextId++;
    loader.request = id;
    const info = segmentInfo(context);
    this.#loads.set(id, { loader, info, digest, frag });
    const ok = this.#call(() =>
      this.#node.load(id, context.url, context.rangeStart || 0, context.rangeEnd || 0, frag.sn, stream),
    );
    if (!ok) {
      this.#loads.delete(id);
      loader.request = null;
    }
    return ok;
  }

  /** hls.js's loader fetched the request `id` that the engine handed to it. */
  loaded(id, data) {
    const load = this.#loads.get(id);
    if (!load) return;
    this.#loads.delete(id);
    this.#call(() => this.#node?.loaded(id, new Uint8Array(data)));
    this.#emit("segmentloaded", { ...load.info, bytes: data.byteLength, source: "http", peerId: null });
  }

  /**
   * The engine left request `id` unanswered for `ms`; its loader goes to
   * HTTP. An engine that leaves a second one unanswered without answering
   * any in between is stopped, and every load goes to HTTP from then on.
   */
  unanswered(id, ms) {
    this.#fail("engine", `no answer for ${this.#loads.get(id)?.info.url} in ${ms} ms: loaded over HTTP`);
    if (++this.#unanswered < 2) return;
    this.#fail("engine", "the engine stopped answering: loads go over HTTP");
    this.#stopEngine();
  }

  /** Forgets a request: finished, aborted or timed out. */
  release(id) {
    if (this.#loads.delete(id)) this.#call(() => this.#node?.abort(id));
  }

  /**
   * A fragment load ended without data: `how` names the hls.js callback
   * ("onError", "onTimeout" or "onAbort") and `error` is its first argument.
   */
  ended(context, how, error) {
    const info = segmentInfo(context);
    if (how === "onAbort") this.#emit("segmentabort", info);
    // onError's first argument is { code, text } (no text: a network
    // error); onTimeout's is stats.
    else this.#emit("segmenterror", { ...info, message: error?.text || (how === "onError" ? "network error" : "timeout") });
  }

  /** Lets the page's `httpRequestSetup` adjust an HTTP load (URL, headers) before it starts. */
  async prepareHttp(context) {
    const setup = this.#options.httpRequestSetup;
    if (typeof setup !== "function") return;
    context.headers ??= {};
    try {
      await setup(context);
    } catch (e) {
      this.#fail("httpRequestSetup", e);
    }
  }

  // --- engine side ---

  #start() {
    const hls = this.#hls;
    if (!hls) return; // destroyed while the wasm loaded
    this.#newEngine();
    // A page's own fragment loader stays in charge of HTTP: it is chained, not replaced.
    this.#HttpLoader = hls.config.fLoader || hls.config.loader;
    hls.config.fLoader = fragmentLoader(this, this.#HttpLoader);
    this.#on("hlsLevelUpdated", (_, { details, level }) => this.#playlist("main", level, details));
    this.#on("hlsAudioTrackLoaded", (_, { details, id }) => this.#playlist("audio", id, details));
    this.#on("hlsSubtitleTrackLoaded", (_, { details, id }) => this.#playlist("subtitle", id, details));
    this.#on("hlsMediaAttached", (_, { media }) => this.#watch(media));
    if (hls.media) this.#watch(hls.media);
    this.#on("hlsDestroying", () => this.destroy());
    // hls.js could not parse, decrypt or append what a peer delivered: the
    // engine forgets those bytes and that peer (unless they matched the
    // origin's digest, when the origin is to blame), and the retry is HTTP's.
    this.#on("hlsError", (_, { frag, details, error }) => {
      const id = this.#fromPeers.get(frag);
      if (!(id >= 0 && blamesBytes(details, error))) return;
      this.#fromPeers.set(frag, -1);
      if (id) this.#call(() => (this.#node?.reject(id), this.#node?.abort(id)));
    });
    // Peers' data no digest or hook vouched for is offered to other peers
    // once hls.js could use it: its parser is the only check there is.
    const buffered = (frag) => {
      const id = this.#fromPeers.get(frag);
      if (id > 0) this.#call(() => this.#node?.buffered(id));
    };
    this.#on("hlsFragBuffered", (_, { frag }) => buffered(frag));
    this.#on("hlsSubtitleFragProcessed", (_, { frag, success }) => success && buffered(frag));
  }

  // An engine with the settings in force, given the playlists hls.js has
  // loaded (the one being played last).
  #newEngine() {
    const hls = this.#hls;
    // With a check (a validateSegment hook, or digests to verify), peers'
    // data is passed on only once it passed.
    const validateP2p = typeof this.#options.validateSegment === "function" || this.#integrity !== "off";
    this.#node = new Node(...engineArgs({ ...this.#settings, validateP2p }), (...event) => this.#event(...event));
    hls.levels?.forEach((l, i) => i !== hls.currentLevel && this.#playlist("main", i, l.details));
    hls.audioTracks?.forEach((t, i) => this.#playlist("audio", i, t.details));
    hls.subtitleTracks?.forEach((t, i) => this.#playlist("subtitle", i, t.details));
    if (hls.currentLevel >= 0) this.#playlist("main", hls.currentLevel, hls.levels[hls.currentLevel]?.details);
  }

  // A running engine is replaced (one given up on after an error stays so).
  #restartEngine() {
    if (!this.#node) return;
    this.#stopEngine();
    this.#call(() => this.#newEngine());
  }

  // An engine's flat stats (see toStats) plus the counts of the engines it replaced.
  #withCarried(stats = []) {
    return this.#carried.map((n, i) => n + (stats[i] ?? 0)).concat(stats.slice(8));
  }

  // Hands a (re)loaded media playlist to the engine, flattened for wasm.
  #playlist(type, index, details) {
    const hls = this.#hls;
    if (!hls || !details?.fragments) return;
    const stream = streamName(hls, type, index, details.url, typeof this.#options.swarmId === "string");
    this.#names.set(`${type}:${index}`, stream);
    const urls = [];
    const nums = [];
    const frags = new Map();
    for (const f of details.fragments) {
      const [rangeStart = 0, rangeEnd = 0] = f.byteRange;
      urls.push(f.url);
      nums.push(f.sn, f.start * 1000, f.duration * 1000, rangeStart, rangeEnd);
      frags.set(rangeKey(f.url, rangeStart, rangeEnd), f);
    }
    this.#frags.set(stream, frags);
    this.#call(() =>
      this.#node?.playlist(hls.url ?? details.url, stream, KINDS[type], details.live, urls, nums),
    );
  }

  // The engine prefetches a segment for the swarm: the page's loader fetches
  // it as hls.js would fetch that fragment, without hls.js's retries.
  #prefetch(id, url, rangeStart, rangeEnd) {
    const hls = this.#hls;
    if (!hls || !this.#HttpLoader) return this.#call(() => this.#node?.http_failed(id));
    const key = rangeKey(url, rangeStart, rangeEnd);
    const frag = [...this.#frags.values()].find((m) => m.has(key))?.get(key);
    const context = { url, frag, rangeStart, rangeEnd, responseType: "arraybuffer" };
    const loadPolicy = hls.config.fragLoadPolicy?.default ?? {};
    const config = { loadPolicy, timeout: loadPolicy.maxLoadTimeMs, maxRetry: 0, retryDelay: 0, maxRetryDelay: 0 };
    const loader = new this.#HttpLoader(hls.config);
    this.#prefetches.set(id, loader);
    const done = (report) => {
      if (this.#prefetches.get(id) !== loader) return;
      this.#prefetches.delete(id);
      this.#call(report);
    };
    const failed = () => done(() => this.#node?.http_failed(id));
    const callbacks = {
      onSuccess: ({ data }, stats) =>
        done(() => this.#node?.http_loaded(id, new Uint8Array(data), stats.loading.first)),
      onError: failed,
      onTimeout: failed,
      onAbort: () => this.#prefetches.delete(id),
    };
    this.prepareHttp(context).then(() => this.#prefetches.get(id) === loader && loader.load(context, config, callbacks));
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
    if (kind < 2) this.#unanswered = 0;
    switch (kind) {
      case 0:
        if (load) this.#deliver(id, load, value, text, [a, b, c]);
        break;
      case 1:
        load?.loader.toHttp(true);
        break;
      case 2:
      case 3:
        this.#emit(kind === 2 ? "peerconnect" : "peerclose", { id: text });
        break;
      case 4:
        this.#emit("bytes", { kind: ["http", "p2p", "upload"][b], bytes: a, peerId: knownPeer(text) });
        break;
      case 5:
        this.#emit(b ? "trackerwarning" : "trackererror", {
          tracker: a,
          url: this.#settings.trackers[a],
          message: String(value?.message ?? value),
        });
        break;
      case 6:
        this.#prefetch(id, text, a, b);
        break;
      case 7: {
        const loader = this.#prefetches.get(id);
        this.#prefetches.delete(id);
        loader?.abort();
        loader?.destroy();
        break;
      }
    }
  }

  // P2P bytes are checked first: against the origin's published digest
  // (WebCrypto), then by validateSegment. A failed check makes the engine
  // drop that peer and hand the request to hls.js's loader; otherwise the
  // engine hears that the peer's segment went through, checked or not.
  async #deliver(id, { loader, info, digest, frag }, bytes, peer, timing) {
    if (peer != null) {
      const checked = !!(digest || this.#options.validateSegment);
      const ok = !checked || (await this.#check(bytes, info, digest));
      if (this.#loads.get(id)?.loader !== loader) return; // aborted meanwhile
      if (!ok) {
        this.#call(() => this.#node?.reject(id));
        return;
      }
      this.#call(() => this.#node?.accept(id, checked));
    }
    this.#loads.delete(id);
    if (peer != null) this.#fromPeers.set(frag, digest ? 0 : id);
    const source = peer == null ? "http" : "p2p";
    this.#emit("segmentloaded", { ...info, bytes: bytes.byteLength, source, peerId: knownPeer(peer) });
    loader.success(bytes, timing);
  }

  // Whether a peer's bytes pass the digest check and the page's hook.
  async #check(bytes, info, digest) {
    try {
      if (digest && hex(await crypto.subtle.digest("SHA-256", bytes)) !== digest) {
        this.#fail("integrity", `a peer's bytes for ${info.url} do not match the origin's SHA-256`);
        return false;
      }
      const validate = this.#options.validateSegment;
      return typeof validate !== "function" || (await validate(bytes, info));
    } catch (e) {
      this.#fail("validateSegment", e);
      return false;
    }
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

  // Runs a call into the engine. A call that throws means the wasm trapped
  // (out of memory, a bug): the engine is gone, so it is dropped at once and
  // every load it held goes to hls.js's loader; later loads go straight there.
  // Returns success.
  #call(f) {
    try {
      f();
      return true;
    } catch (e) {
      this.#fail("engine", e);
      this.#abandonEngine();
      return false;
    }
  }

  // Closes the engine's connections and frees it; its loads go to HTTP.
  #stopEngine() {
    const node = this.#node;
    this.#node = null;
    if (node)
      this.#call(() => {
        this.#carried = this.#withCarried(node.stats()).slice(0, 8);
        node.destroy();
        node.free();
      });
    this.#abandonEngine();
  }

  #abandonEngine() {
    this.#node = null;
    const pending = [...this.#loads.values()];
    this.#loads.clear();
    this.#prefetches.forEach((loader) => loader.destroy());
    this.#prefetches.clear();
    for (const { loader } of pending) loader.toHttp(false);
  }

}
