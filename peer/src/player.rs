//! The hls.js stand-in each hosted peer runs: it follows playlists and asks
//! for fragments the way a player would, through the engine. A viewer plays
//! the first variant at real speed from a simulated buffer; a seeder follows
//! every variant, asks for each new segment at once, and plays nothing.

use std::collections::{HashMap, VecDeque};

use swarmcast_loader::engine::{ByteRange, Input, Millis, RequestId, VariantAttributes};
use url::Url;

use crate::config::Role;
use crate::playlist::{self, Manifest, MediaStream};

/// A seeder starts this many segments behind the newest, as a viewer does by
/// default (hls.js `liveSyncDurationCount`), so it holds what joiners ask first.
const SEEDER_START_SEGMENTS: u64 = 3;
/// Playback position reports, as often as a video's `timeupdate`.
const TIMEUPDATE_MS: Millis = 250;
/// A stalled viewer resumes once this much is buffered ahead.
const RESUME_BUFFER_MS: Millis = 1_000;
/// Wait before reloading a playlist or fragment that failed to load.
const RETRY_MS: Millis = 1_000;
/// A seeder's HTTP loads at once, per variant.
const SEEDER_LOADS: usize = 2;

/// Which playlist a load is for: the manifest, or variant `i`.
pub type PlaylistId = Option<usize>;

/// What the player asks its node to do.
#[derive(Debug)]
pub enum Action {
    Engine(Input),
    LoadPlaylist(PlaylistId, String),
}

/// Playback figures a viewer reports to the metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct Playback {
    pub stalls: u64,
    pub stall_ms: Millis,
    pub playing: bool,
    /// How long after it started the viewer had its first fragment (`None`:
    /// not yet).
    pub startup_ms: Option<Millis>,
    /// Live: how far the position is behind the newest listed media.
    pub latency_ms: Option<Millis>,
}

pub struct Player {
    manifest: Url,
    /// When to load the manifest; `None` once it is loaded or loading.
    manifest_at: Option<Millis>,
    /// The followed media playlists: the viewer's first variant only, or the
    /// seeder's every variant.
    streams: Vec<Followed>,
    next_req: u32,
    /// Each open request's URL and range, for loading it over HTTP.
    targets: HashMap<RequestId, (String, Option<ByteRange>)>,
    role: Behaviour,
    /// A swarm id is set: streams are named by their attributes.
    by_attributes: bool,
}

struct Followed {
    media: MediaStream,
    /// When to (re)load it; `None` while loading or once a VOD is complete.
    reload_at: Option<Millis>,
    seeder: Seeder,
}

enum Behaviour {
    Viewer(Viewer),
    Seeder,
}

impl Player {
    pub fn new(role: Role, manifest: Url, viewing: Viewing, by_attributes: bool) -> Self {
        Player {
            manifest,
            manifest_at: Some(0),
            streams: Vec::new(),
            next_req: 1,
            targets: HashMap::new(),
            role: match role {
                Role::Viewer => Behaviour::Viewer(Viewer::new(viewing)),
                Role::Seeder => Behaviour::Seeder,
            },
            by_attributes,
        }
    }

    /// When `tick` next has work.
    pub fn wakeup(&self) -> Option<Millis> {
        let reloads = self.streams.iter().filter_map(|f| f.reload_at);
        let role = match &self.role {
            Behaviour::Viewer(v) => v.last_tick.map(|t| t + TIMEUPDATE_MS),
            Behaviour::Seeder => self.streams.iter().filter_map(|f| f.seeder.retry_at).min(),
        };
        self.manifest_at
            .into_iter()
            .chain(reloads)
            .chain(role)
            .min()
    }

    pub fn tick(&mut self, now: Millis, out: &mut Vec<Action>) {
        if self.manifest_at.is_some_and(|t| now >= t) {
            self.manifest_at = None;
            out.push(Action::LoadPlaylist(None, self.manifest.to_string()));
        }
        for (i, f) in self.streams.iter_mut().enumerate() {
            if f.reload_at.is_some_and(|t| now >= t) {
                f.reload_at = None;
                out.push(Action::LoadPlaylist(Some(i), f.media.url().to_string()));
            }
        }
        self.step(now, out);
    }

    /// A playlist load finished.
    pub fn playlist_loaded(
        &mut self,
        now: Millis,
        id: PlaylistId,
        body: Result<Vec<u8>, String>,
        out: &mut Vec<Action>,
    ) {
        let url = match id {
            None => self.manifest.clone(),
            Some(i) => self.streams[i].media.url().clone(),
        };
        let parsed = body.and_then(|b| playlist::parse(&url, &b).map_err(|e| e.to_string()));
        let media = match (parsed, id) {
            (Ok(Manifest::Variants(variants)), None) => {
                let take = match self.role {
                    Behaviour::Viewer(_) => 1,
                    Behaviour::Seeder => variants.len(),
                };
                for v in variants.into_iter().take(take) {
                    self.follow(v.url, &v.attributes, now);
                }
                return;
            }
            (Ok(Manifest::Media(m)), None) => {
                // hls.js's one level of a media playlist has no attributes.
                self.follow(self.manifest.clone(), &VariantAttributes::default(), now);
                self.streams[0].reload_at = None;
                (m, 0)
            }
            (Ok(Manifest::Media(m)), Some(i)) => (m, i),
            (Ok(Manifest::Variants(_)), Some(_)) | (Err(_), _) => {
                tracing::warn!(%url, "playlist load failed or is not a media playlist; retrying");
                let retry = Some(now + RETRY_MS);
                match id {
                    None => self.manifest_at = retry,
                    Some(i) => self.streams[i].reload_at = retry,
                }
                return;
            }
        };
        let (media, i) = media;
        let seeder = matches!(self.role, Behaviour::Seeder);
        let f = &mut self.streams[i];
        let grew = match f.media.update(&media) {
            Ok(grew) => grew,
            Err(e) => {
                tracing::warn!(error = %e, "playlist skipped");
                f.reload_at = Some(now + RETRY_MS);
                return;
            }
        };
        out.push(Action::Engine(Input::Playlist(f.media.engine_playlist())));
        // hls.js reloads a live playlist after a target duration, or half of
        // one when it had not changed. A seeder polls at a quarter, to see a
        // new segment before the viewers do: a viewer that sees one first
        // may fetch it over HTTP itself.
        let td = f.media.target_duration_ms.max(1_000);
        let wait = match (seeder, grew) {
            (true, _) => td / 4,
            (false, true) => td,
            (false, false) => td / 2,
        };
        f.reload_at = f.media.live.then_some(now + wait);
        match &mut self.role {
            Behaviour::Viewer(v) => v.playlist(&f.media),
            Behaviour::Seeder => f.seeder.playlist(&f.media),
        }
        self.step(now, out);
    }

    fn follow(&mut self, url: Url, attributes: &VariantAttributes, now: Millis) {
        let by_attributes = self.by_attributes.then_some(attributes);
        self.streams.push(Followed {
            media: MediaStream::new(self.manifest.clone(), url, by_attributes),
            reload_at: Some(now),
            seeder: Seeder::default(),
        });
    }

    /// The engine answered request `req`, or the node loaded it over HTTP.
    pub fn delivered(&mut self, now: Millis, req: RequestId, out: &mut Vec<Action>) {
        self.targets.remove(&req);
        match &mut self.role {
            Behaviour::Viewer(v) => v.delivered(now, req, self.streams.first().map(|f| &f.media)),
            Behaviour::Seeder => self.streams.iter_mut().for_each(|f| f.seeder.done(req)),
        }
        self.step(now, out);
    }

    /// The node's HTTP load of request `req` failed; the fragment is retried.
    pub fn failed(&mut self, now: Millis, req: RequestId, out: &mut Vec<Action>) {
        self.targets.remove(&req);
        match &mut self.role {
            Behaviour::Viewer(v) => v.failed(req, now),
            Behaviour::Seeder => self
                .streams
                .iter_mut()
                .for_each(|f| f.seeder.failed(req, now)),
        }
        self.step(now, out);
    }

    /// The URL and range request `req` named.
    pub fn request_target(&self, req: RequestId) -> Option<(String, Option<ByteRange>)> {
        self.targets.get(&req).cloned()
    }

    pub fn playback(&self) -> Option<Playback> {
        match &self.role {
            Behaviour::Viewer(v) => Some(v.figures(self.streams.first().map(|f| &f.media))),
            Behaviour::Seeder => None,
        }
    }

    /// Playback advance and fragment requests due now.
    fn step(&mut self, now: Millis, out: &mut Vec<Action>) {
        let (next_req, targets) = (&mut self.next_req, &mut self.targets);
        for f in &mut self.streams {
            let media = &f.media;
            // Where playback is goes first: it dates the request.
            if let Behaviour::Viewer(v) = &mut self.role {
                out.extend(v.advance(now, media).map(Action::Engine));
            }
            let mut request = |sn: u64| {
                let seg = media.segment(sn)?;
                let req = RequestId(*next_req);
                *next_req += 1;
                targets.insert(req, (seg.url.clone(), seg.range));
                out.push(Action::Engine(Input::SegmentRequest {
                    req,
                    stream: media.name().to_owned(),
                    sn,
                    url: seg.url.clone(),
                    range: seg.range,
                }));
                Some(req)
            };
            match &mut self.role {
                Behaviour::Viewer(v) => {
                    v.request(now, &mut request);
                    // A viewer plays its first variant only.
                    break;
                }
                Behaviour::Seeder => f.seeder.request(now, &mut request),
            }
        }
    }
}

/// How a viewer plays, as an hls.js config would say.
#[derive(Clone, Copy)]
pub struct Viewing {
    /// hls.js `maxBufferLength`.
    pub max_buffer_ms: Millis,
    /// hls.js `liveSyncDurationCount`: a live viewer starts this many
    /// segments behind the newest.
    pub live_sync_segments: u64,
}

/// Playback from a simulated buffer: fragments are loaded one at a time, in
/// order, up to `max_buffer_ms` ahead of the position, which advances in
/// real time while media is buffered.
struct Viewer {
    viewing: Viewing,
    next_sn: Option<u64>,
    loading: Option<(RequestId, u64)>,
    retry_at: Millis,
    position_ms: Millis,
    buffer_end_ms: Millis,
    /// When the first fragment came: playback started then.
    started_at: Option<Millis>,
    playing: bool,
    ended: bool,
    /// When the last playback report went out.
    last_tick: Option<Millis>,
    stalls: u64,
    stall_ms: Millis,
}

impl Viewer {
    fn new(viewing: Viewing) -> Self {
        Viewer {
            viewing,
            next_sn: None,
            loading: None,
            retry_at: 0,
            position_ms: 0,
            buffer_end_ms: 0,
            started_at: None,
            playing: false,
            ended: false,
            last_tick: None,
            stalls: 0,
            stall_ms: 0,
        }
    }

    /// Picks the start (live: near the edge) and, on a live stream that slid
    /// past the next fragment, jumps forward as hls.js does.
    fn playlist(&mut self, stream: &MediaStream) {
        let (Some(first), Some(last)) = (stream.segments.first(), stream.segments.last()) else {
            return;
        };
        let behind = self.next_sn.is_some_and(|sn| sn < first.sn) && self.loading.is_none();
        if self.next_sn.is_some() && !behind {
            return;
        }
        let start = if stream.live {
            last.sn + 1
                - self
                    .viewing
                    .live_sync_segments
                    .min(stream.segments.len() as u64)
        } else {
            first.sn
        };
        if behind {
            tracing::debug!(sn = start, "fell out of the live window; jumping ahead");
            self.stalls += 1;
        }
        let at = stream.segment(start).map_or(0, |s| s.start_ms);
        self.next_sn = Some(start);
        self.position_ms = at;
        self.buffer_end_ms = at;
    }

    fn delivered(&mut self, now: Millis, req: RequestId, stream: Option<&MediaStream>) {
        let Some((loading, sn)) = self.loading else {
            return;
        };
        if loading != req {
            return;
        }
        self.loading = None;
        if let Some(seg) = stream.and_then(|s| s.segment(sn)) {
            self.buffer_end_ms = seg.start_ms + seg.duration_ms;
        }
        self.next_sn = Some(sn + 1);
        if self.started_at.is_none() {
            self.started_at = Some(now);
            self.playing = true;
        }
    }

    fn failed(&mut self, req: RequestId, now: Millis) {
        if self.loading.is_some_and(|(r, _)| r == req) {
            self.loading = None;
            self.retry_at = now + RETRY_MS;
        }
    }

    /// Advances the position to `now`; at each `timeupdate` returns the report.
    fn advance(&mut self, now: Millis, stream: &MediaStream) -> Option<Input> {
        if self.next_sn.is_none() || self.ended {
            return None;
        }
        // The first report goes at once, with the start position (as a video
        // element reports it before its first fragment): the engine dates by
        // it the fragments requested meanwhile, which over a fast link may be
        // many within one report period.
        let dt = self
            .last_tick
            .map_or(TIMEUPDATE_MS, |t| now.saturating_sub(t));
        if dt < TIMEUPDATE_MS {
            return None;
        }
        self.last_tick = Some(now);
        if self.started_at.is_some() {
            self.play(dt, stream);
        }
        Some(Input::Playback {
            position_ms: self.position_ms,
            playing: self.playing,
        })
    }

    /// Plays `dt` of the buffer, or waits (stalled) for enough of it.
    fn play(&mut self, dt: Millis, stream: &MediaStream) {
        if self.playing {
            self.position_ms = (self.position_ms + dt).min(self.buffer_end_ms);
            if self.position_ms >= self.buffer_end_ms {
                let last = stream.segments.last().map(|s| s.sn);
                if !stream.live && self.next_sn > last {
                    self.ended = true;
                } else {
                    self.playing = false;
                    self.stalls += 1;
                }
            }
        } else {
            self.stall_ms += dt;
            if self.buffer_end_ms >= self.position_ms + RESUME_BUFFER_MS {
                self.playing = true;
            }
        }
    }

    fn request(&mut self, now: Millis, request: &mut impl FnMut(u64) -> Option<RequestId>) {
        let Some(sn) = self.next_sn else { return };
        let room = self.buffer_end_ms < self.position_ms + self.viewing.max_buffer_ms;
        if self.loading.is_none() && now >= self.retry_at && room {
            if let Some(req) = request(sn) {
                self.loading = Some((req, sn));
            }
        }
    }

    fn figures(&self, stream: Option<&MediaStream>) -> Playback {
        Playback {
            stalls: self.stalls,
            stall_ms: self.stall_ms,
            playing: self.playing,
            startup_ms: self.started_at,
            latency_ms: stream
                .filter(|s| s.live && self.started_at.is_some())
                .map(|s| s.end_ms().saturating_sub(self.position_ms)),
        }
    }
}

/// One variant of a seeder: every segment from the live edge on (VOD: from
/// the first) is asked for as soon as the playlist lists it, a few at a time.
#[derive(Default)]
struct Seeder {
    /// The next sequence number to queue.
    next_sn: Option<u64>,
    queue: VecDeque<u64>,
    loading: Vec<(RequestId, u64)>,
    retry_at: Option<Millis>,
}

impl Seeder {
    fn playlist(&mut self, stream: &MediaStream) {
        let (Some(first), Some(last)) = (stream.segments.first(), stream.segments.last()) else {
            return;
        };
        let from = self.next_sn.unwrap_or(if stream.live {
            last.sn + 1 - SEEDER_START_SEGMENTS.min(stream.segments.len() as u64)
        } else {
            first.sn
        });
        self.queue.extend(from.max(first.sn)..=last.sn);
        self.next_sn = Some(last.sn + 1);
    }

    fn done(&mut self, req: RequestId) {
        self.loading.retain(|(r, _)| *r != req);
    }

    fn failed(&mut self, req: RequestId, now: Millis) {
        if let Some(i) = self.loading.iter().position(|(r, _)| *r == req) {
            let (_, sn) = self.loading.remove(i);
            self.queue.push_front(sn);
            self.retry_at = Some(now + RETRY_MS);
        }
    }

    fn request(&mut self, now: Millis, request: &mut impl FnMut(u64) -> Option<RequestId>) {
        if self.retry_at.is_some_and(|t| now < t) {
            return;
        }
        self.retry_at = None;
        while self.loading.len() < SEEDER_LOADS {
            let Some(sn) = self.queue.pop_front() else {
                break;
            };
            // A segment that slid out of the playlist is no longer worth loading.
            if let Some(req) = request(sn) {
                self.loading.push((req, sn));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VOD of `n` 2 s segments.
    fn vod(n: u64) -> MediaStream {
        let mut text = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
        for sn in 0..n {
            text.push_str(&format!("#EXTINF:2.0,\nseg_{sn}.ts\n"));
        }
        text.push_str("#EXT-X-ENDLIST\n");
        let url = Url::parse("http://o/vod/a.m3u8").unwrap();
        let Ok(Manifest::Media(m)) = playlist::parse(&url, text.as_bytes()) else {
            panic!("not a media playlist");
        };
        let mut s = MediaStream::new(url.clone(), url, None);
        s.update(&m).unwrap();
        s
    }

    /// The viewer's playback report at `now`, as (position, playing).
    fn report(v: &mut Viewer, now: Millis, stream: &MediaStream) -> Option<(Millis, bool)> {
        match v.advance(now, stream)? {
            Input::Playback {
                position_ms,
                playing,
            } => Some((position_ms, playing)),
            _ => None,
        }
    }

    #[test]
    fn a_viewer_reports_its_start_before_its_first_fragment_then_plays() {
        let stream = vod(10);
        let mut v = Viewer::new(Viewing {
            max_buffer_ms: 30_000,
            live_sync_segments: 3,
        });
        assert_eq!(report(&mut v, 1_000, &stream), None, "no start yet");
        v.playlist(&stream);
        assert_eq!(
            report(&mut v, 1_010, &stream),
            Some((0, false)),
            "the start is reported at once, before any fragment"
        );
        let mut asked = Vec::new();
        v.request(1_010, &mut |sn| {
            asked.push(sn);
            Some(RequestId(1))
        });
        assert_eq!(asked, vec![0]);
        assert_eq!(v.figures(Some(&stream)).startup_ms, None);
        v.delivered(1_200, RequestId(1), Some(&stream));
        assert_eq!(
            report(&mut v, 1_510, &stream),
            Some((500, true)),
            "playing once the first fragment is in"
        );
        assert_eq!(v.figures(Some(&stream)).startup_ms, Some(1_200));
    }
}
