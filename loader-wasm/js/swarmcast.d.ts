// Public TypeScript API of the `swarmcast` npm package. It imports nothing
// from hls.js: `attach` takes any object shaped like an hls.js instance, so the
// check passes whichever of hls.js's type files (ESM or CommonJS) a project
// resolves, and projects without hls.js types still compile.

/**
 * The parts of an hls.js 1.x instance that swarmcast uses; an `Hls` object
 * fits it.
 */
export interface HlsLike {
  config: { loader: unknown; fLoader?: unknown };
  readonly media: HTMLMediaElement | null;
  readonly url: string | null;
  loadSource(url: string): void;
  on(event: string, listener: (...args: any[]) => void): void;
  off(event: string, listener: (...args: any[]) => void): void;
}

/** Facts about a media segment, as hls.js names them. */
export interface SegmentInfo {
  url: string;
  /** Media sequence number. */
  sn: number;
  /** Index of the level (main), audio track or subtitle track. */
  level: number;
  /** Which of hls.js's streams the fragment belongs to. */
  type: "main" | "audio" | "subtitle";
}

/**
 * An HTTP load that swarmcast is about to start through hls.js's loader (an
 * hls.js fragment request or a prefetch for the swarm): hls.js's loader
 * context. `url` and `headers` may be changed; hls.js's xhrSetup/fetchSetup
 * still run afterwards.
 */
export interface HttpRequest {
  url: string;
  /** Byte range, end exclusive; both 0 (or absent) for the whole resource. */
  rangeStart?: number;
  rangeEnd?: number;
  headers: Record<string, string>;
}

export interface SwarmcastOptions {
  /** WebTorrent-compatible WebSocket tracker URLs, e.g. ["wss://tracker.example"]. */
  trackers?: string[];
  /** Passed to every RTCPeerConnection (ICE servers and so on). Default: one public STUN server. */
  rtcConfig?: RTCConfiguration;
  /**
   * Names the content for the swarm. Default: the manifest URL, query
   * included, so `play.m3u8?ch=7` and `?ch=9` never share. Set it when URLs
   * carry per-viewer tokens (in the query or the path) or the stream has
   * several hosts: streams are then named by their attributes in the master
   * playlist, and segments by their file name, so those viewers share one
   * swarm. A native seeder joins with `swarmcast-peer --swarm-id`.
   */
  swarmId?: string;
  /** Fetch segments from peers at all. false: plain HTTP, no tracker, no peers. Default true. */
  p2p?: boolean;
  /** Serve segments to other peers. Default true. */
  upload?: boolean;
  /**
   * Fetch segments from peers. Default true. false keeps the peers (this
   * viewer still serves them) but loads every segment over HTTP; with
   * configure(), transfers from peers under way go to HTTP at once.
   */
  download?: boolean;
  /** Segments due within this many seconds of the playhead are fetched over HTTP. */
  httpWindowSeconds?: number;
  /** Segments due within this many seconds are prefetched from peers. */
  p2pWindowSeconds?: number;
  /** Live: how far ahead this viewer fetches a new segment over HTTP when the swarm picked it to seed it. */
  seedWindowSeconds?: number;
  /** Most peers connected (or connecting) at once. */
  maxPeers?: number;
  /** Simultaneous HTTP segment downloads. */
  maxHttpDownloads?: number;
  /** Simultaneous P2P segment downloads. */
  maxP2PDownloads?: number;
  /** A peer that sends no bytes for this long is dropped for that segment (ms). */
  p2pTimeoutMs?: number;
  /** A prefetch for the swarm that takes longer than this is abandoned (ms). */
  httpTimeoutMs?: number;
  /**
   * Startup: until playback starts, hls.js's first requests wait up to this
   * long (ms) for peers, when the tracker says others watch, instead of going
   * to HTTP at once. Trades up to that much startup time for origin load:
   * a viewer whose peers connect in time takes its first segments from them.
   * Default 0 (start as fast as plain hls.js).
   */
  startupPeerWaitMs?: number;
  /** Upper bound on memory used to keep segments for peers, in bytes. Lowered with configure(), it evicts at once. */
  memoryCapBytes?: number;
  /**
   * Checking peers' data against the SHA-256 digests an origin publishes in
   * its media playlists (`#EXT-X-SWARMCAST-DIGEST`, see swarmcast-origin):
   * "auto" (default) verifies every segment that has one, with WebCrypto,
   * before hls.js sees it and before it is offered to other peers; a mismatch
   * drops the peer and the segment is loaded over HTTP. A peer's segment with
   * no digest (and no validateSegment hook) is offered to other peers once
   * hls.js parsed and buffered it, the only check there is. "required" also
   * keeps segments without a digest off P2P. "off" skips the check.
   */
  integrity?: "auto" | "required" | "off";
  /**
   * Called with every segment received from a peer, before hls.js sees it.
   * Return false (or reject) to drop that peer and fetch the segment over HTTP.
   * With a hook, a segment from a peer is offered to other peers only after
   * the hook accepted it, so corrupt data never spreads.
   */
  validateSegment?: (bytes: Uint8Array, info: SegmentInfo) => boolean | Promise<boolean>;
  /**
   * Called before every HTTP load swarmcast starts or hands to hls.js's
   * loader, for what hls.js's config cannot express (e.g. per-segment signed
   * URLs or headers): change `request.url` or `request.headers`.
   */
  httpRequestSetup?: (request: HttpRequest) => void | Promise<void>;
  /**
   * Where to fetch the engine's .wasm from, instead of the copy built into
   * swarmcast.js (the package ships it as `swarmcast/swarmcast_loader_bg.wasm`).
   */
  wasmUrl?: string | URL;
}

/**
 * What configure() changes while playing. `p2p`, `upload` and `trackers`
 * start a new engine (see configure); `swarmId`, the checking options and
 * `rtcConfig` are fixed by attach().
 */
export type SwarmcastSettings = Pick<
  SwarmcastOptions,
  | "p2p"
  | "upload"
  | "trackers"
  | "download"
  | "httpWindowSeconds"
  | "p2pWindowSeconds"
  | "seedWindowSeconds"
  | "maxPeers"
  | "maxHttpDownloads"
  | "maxP2PDownloads"
  | "p2pTimeoutMs"
  | "httpTimeoutMs"
  | "startupPeerWaitMs"
  | "memoryCapBytes"
>;

export interface PeerStats {
  id: string;
  downloadedBytes: number;
  uploadedBytes: number;
}

/** A point-in-time snapshot; every byte count is cumulative (p2pBytes drops when a peer is caught lying: its bytes move to rejectedBytes). */
export interface SwarmcastStats {
  httpBytes: number;
  /** Bytes of segments received whole from peers, less refused ones; a transfer abandoned midway for HTTP is not counted. */
  p2pBytes: number;
  /** Bytes from peers caught sending wrong data (validateSegment, published digests or a parse error): the refused segment and all else that peer sent. Each is refetched over HTTP. */
  rejectedBytes: number;
  uploadBytes: number;
  peers: PeerStats[];
  segments: { http: number; p2p: number };
  /** Requests answered after their playback deadline. */
  lateDeliveries: number;
  /** Segments refetched because a peer timed out, left or sent bad data. */
  p2pFallbacks: number;
}

export interface SegmentLoadedDetail extends SegmentInfo {
  bytes: number;
  source: "http" | "p2p";
  /** The peer that sent it, when source is "p2p". */
  peerId: string | null;
}
export interface PeerDetail {
  id: string;
}
export interface BytesDetail {
  /** "http" and "p2p" are downloads; "upload" is bytes sent to peers. */
  kind: "http" | "p2p" | "upload";
  bytes: number;
  /** The peer at the other end; null for HTTP. */
  peerId: string | null;
}
export interface ErrorDetail {
  /** Where it happened, e.g. "wasm", "engine", "integrity", "validateSegment". */
  where: string;
  message: string;
}
/** A fragment load that hls.js started; `sn` is "initSegment" for an init segment. */
export interface SegmentLoadDetail extends Omit<SegmentInfo, "sn"> {
  sn: number | "initSegment";
}
/** A fragment load that ended without data; hls.js retries it by its own rules. */
export interface SegmentErrorDetail extends SegmentLoadDetail {
  /** The HTTP status text, "network error" or "timeout". */
  message: string;
}
export interface TrackerErrorDetail {
  /** The index in `trackers` of the tracker concerned. */
  tracker: number;
  url: string;
  /**
   * Its `failure reason`, why its message or URL was refused, or "connection
   * closed": its socket closed or never opened (it is reopened with backoff,
   * from 1 s doubling up to 60 s).
   */
  message: string;
}

export interface SwarmcastEventMap {
  segmentloaded: CustomEvent<SegmentLoadedDetail>;
  peerconnect: CustomEvent<PeerDetail>;
  peerclose: CustomEvent<PeerDetail>;
  bytes: CustomEvent<BytesDetail>;
  /** A fragment's HTTP load failed or timed out. */
  segmenterror: CustomEvent<SegmentErrorDetail>;
  /** hls.js abandoned a fragment load (seek, level switch, stopLoad, destroy). */
  segmentabort: CustomEvent<SegmentLoadDetail>;
  trackererror: CustomEvent<TrackerErrorDetail>;
  /** A tracker's reply carried a `warning message` (the reply is still used): `message` is it. */
  trackerwarning: CustomEvent<TrackerErrorDetail>;
  error: CustomEvent<ErrorDetail>;
}

export declare class Swarmcast extends EventTarget {
  /** Use Swarmcast.attach(). */
  private constructor();
  /**
   * Whether this browser has what swarmcast needs: WebRTC data channels,
   * WebAssembly (with reference types), Media Source Extensions and
   * DecompressionStream. Where it returns false, attach() still resolves, and
   * hls.js loads everything over HTTP.
   */
  static isSupported(): boolean;
  /**
   * Enables P2P on an hls.js instance; call it as soon as the instance
   * exists. A hls.loadSource() made while the engine loads is held until it
   * is ready, so awaiting is optional. Resolves even if the engine cannot
   * start: then an "error" event follows and hls.js loads everything over
   * HTTP as usual.
   */
  static attach(hls: HlsLike, options?: SwarmcastOptions): Promise<Swarmcast>;
  /** Bytes and segments by source, and the connected peers. */
  stats(): SwarmcastStats;
  /**
   * Changes settings while playing, without reloading; settings left out
   * keep their value. E.g. `configure({ download: false })`: from now on
   * every segment comes over HTTP, while this viewer still serves its peers.
   * A lower `maxPeers` applies to new connections. A change of `p2p`,
   * `upload` or `trackers` replaces the engine: its connections close, loads
   * in flight finish over HTTP, the new one joins (or not) with the new
   * settings and starts with an empty store; stats() carries on counting.
   */
  configure(settings: SwarmcastSettings): void;
  /** Leaves the swarm; hls.js goes on loading over HTTP. */
  destroy(): void;
  addEventListener<K extends keyof SwarmcastEventMap>(
    type: K,
    listener: (this: Swarmcast, ev: SwarmcastEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof SwarmcastEventMap>(
    type: K,
    listener: (this: Swarmcast, ev: SwarmcastEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
