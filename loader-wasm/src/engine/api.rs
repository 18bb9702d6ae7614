//! The engine's public contract with its drivers (the wasm shell, the native
//! simulation): every input it accepts, every action it asks for, and the
//! configuration. Kept in one file so a shell can be written from it alone.
//!
//! Conventions: time is `u64` milliseconds from any monotonic clock the
//! driver chooses (e.g. `performance.now()`), passed with every call. Ids
//! named `*Id` are opaque `u32`s; [`RequestId`] is chosen by the shell, all
//! others by the engine. Byte buffers are owned `Vec<u8>`s: the shell copies
//! into and out of JS.

/// Milliseconds on the driver's monotonic clock.
pub type Millis = u64;

pub use swarmcast_protocol::tracker::SessionDescription;

/// A message to the tracker, SDP decoded. The driver encodes it as JSON (the
/// browser shell with `JSON.stringify`; no JSON code ships in the wasm).
pub type TrackerRequest = swarmcast_protocol::tracker::ClientMessage<SessionDescription>;
/// A message from the tracker, as the driver decoded it from JSON.
pub type TrackerReply = swarmcast_protocol::tracker::ServerMessage<SessionDescription>;

/// 20-byte peer id as used on the tracker (printable `-SC0100-` prefix).
pub type PeerId = [u8; 20];

/// One hls.js fragment request, chosen by the shell (e.g. a counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u32);

/// One WebRTC peer connection (with its single data channel), chosen by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u32);

/// One HTTP fetch, chosen by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FetchId(pub u32);

/// One tracker WebSocket; the index of its URL in [`Config::trackers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackerId(pub u32);

/// A byte range of a resource, `start` inclusive, `end` exclusive
/// (hls.js `rangeStart`/`rangeEnd` convention). HTTP header: `bytes=start-(end-1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// Engine configuration. Every field has a default (see [`Config::default`]).
#[derive(Clone, Debug)]
pub struct Config {
    /// Exchange segments with peers at all. Off: pure HTTP, no tracker.
    pub p2p: bool,
    /// Fetch segments from peers. Off: peers and trackers stay (for upload),
    /// every segment comes over HTTP.
    pub download: bool,
    /// Serve segments we hold to peers that ask.
    pub upload: bool,
    /// WebTorrent tracker URLs (`wss://…`); one socket each.
    pub trackers: Vec<String>,
    /// Names the content independently of URLs (see `identity`): streams are
    /// then named by their attributes in the master playlist and
    /// segments by their file name, so viewers with per-viewer tokens share a
    /// swarm. Default: the manifest URL, query included.
    pub swarm_id: Option<String>,
    /// Maximum simultaneous connected (or connecting) peers per swarm.
    pub max_peers: usize,
    /// Maximum simultaneous HTTP segment downloads started ahead of need
    /// (seeding for the swarm). hls.js requests handed to HTTP are never held back.
    pub http_downloads: usize,
    /// Maximum simultaneous P2P segment downloads.
    pub p2p_downloads: usize,
    /// Peers we upload to at once; others asking meanwhile are refused
    /// (`Absent`) and look for another holder.
    pub upload_slots: usize,
    /// A segment needed within this time goes to HTTP if no peer transfer is
    /// already running for it ("urgent" window).
    pub http_window_ms: Millis,
    /// Segments needed within this time may be fetched ahead from peers.
    pub p2p_window_ms: Millis,
    /// Startup: until playback starts, hls.js's requests wait up to this
    /// long after joining a swarm that others play for peers, instead of
    /// going to HTTP at once. A joiner whose peers come fast then takes its
    /// first segments from them, at the price of up to this much startup time.
    /// 0 (the default) starts as fast as plain hls.js.
    pub startup_peer_wait_ms: Millis,
    /// Live: how far ahead of its deadline this peer fetches a new segment
    /// over HTTP when the swarm elected it as that segment's seeder.
    pub seed_window_ms: Millis,
    /// Live: a new segment's seeder of rendezvous rank r (0 = elected) waits
    /// r times this after first seeing it before fetching it over HTTP itself,
    /// unless a peer announced it is fetching or holds it.
    pub seed_stagger_ms: Millis,
    /// A peer that sends no bytes for this long is abandoned for that segment.
    pub peer_timeout_ms: Millis,
    /// A prefetch over HTTP that has not finished in this time is abandoned.
    pub http_timeout_ms: Millis,
    /// Segment store memory cap, bytes (LRU eviction beyond it).
    pub memory_cap: usize,
    /// Offers generated per announce (WebTorrent `numwant`).
    pub offers_per_announce: usize,
    /// Unanswered offers are dropped after this.
    pub offer_timeout_ms: Millis,
    /// Announce period when the tracker sends no `interval`.
    pub announce_interval_ms: Millis,
    /// Tracker reconnect backoff: first delay, doubled up to `_max`.
    pub reconnect_min_ms: Millis,
    pub reconnect_max_ms: Millis,
    /// Stop queueing data on a channel whose estimated buffered amount reaches
    /// this; resume on [`Input::ChannelBufferedLow`].
    pub channel_high_water: usize,
    /// The shell sets `bufferedAmountLowThreshold` to this.
    pub channel_low_water: usize,
    /// The page checks P2P data (published digests, or a `validateSegment`
    /// hook) and reports every P2P delivery with [`Input::SegmentAccepted`]
    /// or [`Input::SegmentRejected`]: segments from peers are offered to
    /// other peers only once accepted as checked (or, unchecked, once
    /// [`Input::SegmentBuffered`]), and a new peer is asked for one segment
    /// at a time until one passed (see `peers`).
    pub validate_p2p: bool,
    /// TEST ONLY: flip bytes in every segment we upload.
    pub corrupt_uploads: bool,
    /// This is a seeder (the native peer's `seeder` role): its peer id says
    /// so, and it ranks first for every segment among the viewers beside it
    /// (see [`identity::rendezvous`](super::identity::rendezvous)).
    pub seeder: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            p2p: true,
            download: true,
            upload: true,
            trackers: Vec::new(),
            swarm_id: None,
            max_peers: 20,
            http_downloads: 2,
            p2p_downloads: 4,
            upload_slots: 2,
            http_window_ms: 2_000,
            startup_peer_wait_ms: 0,
            p2p_window_ms: 30_000,
            seed_window_ms: 30_000,
            seed_stagger_ms: 1000,
            peer_timeout_ms: 1_500,
            http_timeout_ms: 20_000,
            memory_cap: 64 << 20,
            offers_per_announce: 5,
            offer_timeout_ms: 50_000,
            announce_interval_ms: 30_000,
            reconnect_min_ms: 1_000,
            reconnect_max_ms: 60_000,
            channel_high_water: 256 << 10,
            channel_low_water: 64 << 10,
            validate_p2p: false,
            corrupt_uploads: false,
            seeder: false,
        }
    }
}

/// One segment of a media playlist, as hls.js parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Media sequence number (`frag.sn`).
    pub sn: u64,
    /// Absolute URL.
    pub url: String,
    /// `EXT-X-BYTERANGE`, if any.
    pub range: Option<ByteRange>,
    /// Media time of the segment's start (`frag.start`), ms.
    pub start_ms: Millis,
    /// Duration, ms.
    pub duration_ms: Millis,
}

/// Which of hls.js's stream controllers plays a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// A video level (`frag.type == "main"`).
    Main,
    /// An alternate audio rendition (`EXT-X-MEDIA:TYPE=AUDIO`).
    Audio,
    /// A subtitle rendition (`EXT-X-MEDIA:TYPE=SUBTITLES`).
    Subtitle,
}

/// A (re)loaded media playlist of one stream (hls.js `LEVEL_UPDATED`,
/// `AUDIO_TRACK_LOADED`, `SUBTITLE_TRACK_LOADED`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Playlist {
    /// The URL of the manifest the player opened (master or media): with its
    /// query, it names the swarm unless [`Config::swarm_id`] is set.
    pub manifest_url: String,
    /// The stream's name, the same for every viewer of the content and so in
    /// every driver (browser glue, native peer): hls.js's playlist type and
    /// the media playlist's URL (`main http://…/216p/stream.m3u8`), or with
    /// [`Config::swarm_id`] its attributes in the master playlist (main
    /// renditions: [`super::main_stream_name`]).
    /// Requests name their stream the same way.
    pub stream: String,
    pub kind: StreamKind,
    /// `true` for live (sliding, no `EXT-X-ENDLIST`).
    pub live: bool,
    /// All segments currently listed, in order.
    pub segments: Vec<SegmentInfo>,
}

/// Everything a driver can tell the engine. Pass each with the current time
/// to [`super::Engine::handle_input`], then drain outputs and re-arm the timer.
#[derive(Clone, Debug)]
pub enum Input {
    /// The timer armed from `poll_timeout()` fired (extra ticks are harmless).
    Tick,
    /// A media playlist was loaded or refreshed. Every stream is tracked; the
    /// most recently loaded or requested one of each kind is prefetched.
    Playlist(Playlist),
    /// Playback position (`video.currentTime`, ms of media time) and whether
    /// it is advancing. Send on `timeupdate`/`seeking`/`playing`/`pause`.
    /// Deadlines come from it: until it arrives every request is urgent
    /// (HTTP unless already stored), so P2P needs it.
    Playback { position_ms: Millis, playing: bool },
    /// hls.js asked for a fragment (`fLoader.load`). Answered by exactly one
    /// [`Output::Deliver`] or [`Output::LoadOverHttp`] unless aborted first.
    /// Only bytes stored for this very stream, sn, URL and range answer it.
    SegmentRequest {
        req: RequestId,
        /// The fragment's stream, named as in [`Playlist::stream`].
        stream: String,
        /// `frag.sn`.
        sn: u64,
        url: String,
        range: Option<ByteRange>,
    },
    /// hls.js's own loader finished a request handed over by
    /// [`Output::LoadOverHttp`]: these are the origin's bytes for it, kept
    /// and shared with peers.
    RequestLoaded { req: RequestId, data: Vec<u8> },
    /// hls.js aborted the request; no answer will follow.
    AbortRequest { req: RequestId },
    /// New settings while playing. `p2p`, `upload`, `trackers`, `swarm_id`,
    /// `validate_p2p`, `corrupt_uploads` and `seeder` are fixed at start and
    /// keep their values. `download` off hands transfers from peers to HTTP
    /// at once; a smaller `memory_cap` evicts at once; the other limits and
    /// windows apply from the next decision on (`max_peers` to new
    /// connections).
    Configure(Box<Config>),
    /// The JS `validateSegment` hook refused data from a [`Output::Deliver`]
    /// with a P2P source: the engine drops that peer and refetches over HTTP,
    /// answering `req` again.
    SegmentRejected { req: RequestId },
    /// The page passed data from a P2P [`Output::Deliver`] on to hls.js:
    /// `checked` when a published digest or the `validateSegment` hook
    /// vouched for it, otherwise nothing could check it. Either way its peer
    /// earns trust (see [`Config::validate_p2p`]); with `validate_p2p` a
    /// checked segment is only now offered to other peers, an unchecked one
    /// once hls.js buffered it ([`Input::SegmentBuffered`]).
    SegmentAccepted { req: RequestId, checked: bool },
    /// hls.js parsed and buffered the data of a P2P [`Output::Deliver`]
    /// accepted unchecked: with no digest and no hook, hls.js's parser is
    /// the only check there is, so the segment is now offered to other
    /// peers. Data hls.js could not use comes back as
    /// [`Input::SegmentRejected`] instead.
    SegmentBuffered { req: RequestId },
    /// The tracker WebSocket opened.
    TrackerConnected { tracker: TrackerId },
    /// One message from the tracker. A frame the driver cannot decode is
    /// the driver's to report; the engine never sees it.
    TrackerMessage {
        tracker: TrackerId,
        message: TrackerReply,
    },
    /// The tracker WebSocket closed or failed to open.
    TrackerClosed { tracker: TrackerId },
    /// [`Output::CreateOffer`] finished: the complete (non-trickle) local SDP.
    OfferCreated { conn: ConnId, sdp: String },
    /// [`Output::CreateAnswer`] finished: the complete local answer SDP.
    AnswerCreated { conn: ConnId, sdp: String },
    /// The peer connection failed at any stage before its channel opened.
    ConnectionFailed { conn: ConnId },
    /// The data channel opened.
    ChannelOpen { conn: ConnId },
    /// The remote address of an open connection (the selected ICE candidate
    /// pair's remote IP), as a non-zero hash: penalties are counted by it
    /// (see `penalties`). Not sent when unknown (e.g. an mDNS name).
    PeerAddress { conn: ConnId, address: u32 },
    /// One binary data-channel message.
    ChannelMessage { conn: ConnId, data: Vec<u8> },
    /// The data channel or its connection closed.
    ChannelClosed { conn: ConnId },
    /// `bufferedamountlow` fired (buffered ≤ [`Config::channel_low_water`]).
    ChannelBufferedLow { conn: ConnId },
    /// An [`Output::HttpFetch`] succeeded with this body; its first byte
    /// arrived at `first_byte` (driver clock).
    HttpLoaded {
        fetch: FetchId,
        data: Vec<u8>,
        first_byte: Millis,
    },
    /// An [`Output::HttpFetch`] failed (network error, timeout or HTTP error).
    HttpFailed { fetch: FetchId },
}

/// Where a segment's bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Http,
    P2p(ConnId),
}

/// Timestamps of one delivered request, for hls.js `stats.loading`: those
/// of the transfer that fetched the data, shifted to end now. Data fetched
/// ahead of the request thus reports the speed it was really fetched at, not
/// an instant load that would mislead hls.js's bandwidth estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// When the transfer started (may precede the request).
    pub start_ms: Millis,
    /// When its first byte arrived.
    pub first_byte_ms: Millis,
    /// Now: when the data is handed over.
    pub end_ms: Millis,
}

/// Everything the engine asks its driver to do, in order.
#[derive(Clone, Debug)]
pub enum Output {
    /// Open a WebSocket to `url`; report [`Input::TrackerConnected`]/`Closed`.
    TrackerConnect { tracker: TrackerId, url: String },
    /// Send one message as a JSON text frame.
    TrackerSend {
        tracker: TrackerId,
        /// Boxed: an announce is several times larger than any other output.
        message: Box<TrackerRequest>,
    },
    /// Close the socket; no `TrackerClosed` is needed afterwards.
    TrackerClose { tracker: TrackerId },
    /// Create an RTCPeerConnection with one ordered data channel, make an
    /// offer, wait for ICE gathering to complete, report [`Input::OfferCreated`].
    CreateOffer { conn: ConnId },
    /// Create an RTCPeerConnection for this remote offer, answer it, wait for
    /// ICE gathering, report [`Input::AnswerCreated`]. The channel arrives
    /// via `ondatachannel`.
    CreateAnswer { conn: ConnId, offer_sdp: String },
    /// `setRemoteDescription` of the answer on an offering connection.
    ApplyAnswer { conn: ConnId, answer_sdp: String },
    /// Close and forget the connection; no `ChannelClosed` is needed.
    CloseConnection { conn: ConnId },
    /// Send one binary message (≤ 16 KiB) on the connection's data channel.
    SendData { conn: ConnId, data: Vec<u8> },
    /// Uploads on `conn` wait for its channel to drain: report
    /// `ChannelBufferedLow` once its buffered amount is at most
    /// `channel_low_water`, at once if it already is. (`bufferedamountlow`
    /// fires only when the amount falls from above the threshold: a channel
    /// whose segments are all smaller never fires it.)
    NotifyWhenDrained { conn: ConnId },
    /// Prefetch: load `url` (and `range`) the way hls.js would load that
    /// fragment (its loader, headers and policies). Report `HttpLoaded` or
    /// `HttpFailed`.
    HttpFetch {
        fetch: FetchId,
        url: String,
        range: Option<ByteRange>,
    },
    /// Abort the fetch; nothing more is expected about it.
    HttpAbort { fetch: FetchId },
    /// Answer request `req` (hls.js `onSuccess`).
    Deliver {
        req: RequestId,
        data: Vec<u8>,
        source: Source,
        timing: Timing,
    },
    /// Load request `req` with hls.js's own loader, as if swarmcast were not
    /// there (its errors, retries and stats then apply unchanged), and report
    /// the bytes with [`Input::RequestLoaded`].
    LoadOverHttp { req: RequestId },
    /// Something the application may want to observe.
    Event(Event),
}

/// Observable happenings (for UI, logs and stats dashboards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A peer's channel opened and its handshake was accepted.
    PeerConnected { conn: ConnId, peer_id: PeerId },
    /// A connected peer went away (closed, timed out, misbehaved or rejected).
    PeerClosed { conn: ConnId, peer_id: PeerId },
    /// Bytes of segment data received.
    BytesDown { source: Source, bytes: u64 },
    /// Bytes of segment data sent to a peer.
    BytesUp { conn: ConnId, bytes: u64 },
    /// A tracker sent a `failure reason`.
    TrackerError { tracker: TrackerId, reason: String },
}

/// Per-peer counters in a [`StatsSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStats {
    pub conn: ConnId,
    pub peer_id: PeerId,
    pub down: u64,
    pub up: u64,
}

/// Cumulative counters since the engine started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub http_down: u64,
    /// Bytes of segments received whole from peers, less those refused:
    /// a transfer left midway (a slow or lost peer) is not counted.
    pub p2p_down: u64,
    /// Bytes from peers caught sending wrong data: the segment refused and
    /// whatever else that peer had sent or was sending.
    pub p2p_rejected: u64,
    pub up: u64,
    pub segments_http: u64,
    pub segments_p2p: u64,
    /// Requests answered after the segment's playback deadline had passed.
    pub late_deliveries: u64,
    /// Requested segments refetched (over HTTP, or from another peer when
    /// one that left had time to spare) because a peer timed out, left or
    /// sent bad data.
    pub p2p_fallbacks: u64,
    /// Currently connected peers.
    pub peers: Vec<PeerStats>,
}

impl StatsSnapshot {
    /// Share of downloaded segment bytes that came from peers (0 when none).
    pub fn p2p_ratio(&self) -> f64 {
        let total = self.http_down + self.p2p_down;
        if total == 0 {
            0.0
        } else {
            self.p2p_down as f64 / total as f64
        }
    }
}
