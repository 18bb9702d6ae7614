//! One hosted peer: the engine, its player and its I/O, coupled the way the
//! browser shell couples them (loader-wasm/src/shell/driver.rs). Events are
//! fed to the engine one at a time, its outputs executed in order, and the
//! timers re-armed; events about connections or sockets the engine already
//! closed are dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use swarmcast_loader::engine::{
    ByteRange, ConnId, Engine, FetchId, Input, Output, RequestId, StatsSnapshot, TrackerId,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::http;
use crate::io::{Clock, HttpJob, IoEvent, IoSender, RateLimit};
use crate::metrics::Metrics;
use crate::player::{Action, Player};
use crate::rtc::{Peers, RtcSetup};
use crate::tracker::Trackers;

/// Metrics are brought up to date this often.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// What every node of a process shares.
#[derive(Clone)]
pub struct Shared {
    pub http: reqwest::Client,
    pub metrics: Arc<Metrics>,
    pub rtc: RtcSetup,
    pub download: RateLimit,
}

pub struct Node {
    engine: Engine,
    player: Player,
    clock: Clock,
    shared: Shared,
    events: IoSender,
    trackers: Trackers,
    peers: Peers,
    /// Sockets and connections the engine has open, and whether each
    /// connection's channel opened; events about any other are stale.
    open_trackers: HashSet<u32>,
    open_conns: HashMap<u32, bool>,
    prefetches: HashMap<u32, JoinHandle<()>>,
    reported: StatsSnapshot,
    reported_playback: crate::player::Playback,
}

impl Node {
    pub fn new(engine: Engine, player: Player, shared: Shared, events: IoSender) -> Self {
        Node {
            engine,
            player,
            clock: Clock::start(),
            shared,
            events,
            trackers: Trackers::default(),
            peers: Peers::default(),
            open_trackers: HashSet::new(),
            open_conns: HashMap::new(),
            prefetches: HashMap::new(),
            reported: StatsSnapshot::default(),
            reported_playback: Default::default(),
        }
    }

    /// Runs until `stop` turns true, then leaves the swarm.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<IoEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        self.shared.metrics.running.inc();
        let mut report = tokio::time::interval(REPORT_EVERY);
        loop {
            let now = self.clock.now();
            let mut actions = Vec::new();
            self.player.tick(now, &mut actions);
            self.act(actions);
            let wake = [self.engine.poll_timeout(), self.player.wakeup()]
                .into_iter()
                .flatten()
                .min()
                .map_or_else(
                    || Instant::now() + Duration::from_secs(3600),
                    |t| self.clock.instant(t),
                );
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => self.on_io(event),
                    None => break,
                },
                _ = sleep_until(wake) => self.feed(Input::Tick),
                _ = report.tick() => self.report(),
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        self.shutdown().await;
    }

    /// Leaves the swarm: the engine's goodbyes go out before the sockets close.
    async fn shutdown(&mut self) {
        self.engine.close(self.clock.now());
        // The requests close hands back are the player's last; a viewer
        // that is leaving plays nothing more, so it loads none of them.
        while let Some(out) = self.engine.poll_output() {
            if !matches!(out, Output::LoadOverHttp { .. }) {
                self.execute(out);
            }
        }
        tokio::join!(self.trackers.close_all(), self.peers.close_all());
        for (_, task) in self.prefetches.drain() {
            task.abort();
        }
        self.report();
        self.shared
            .metrics
            .peers
            .dec_by(self.reported.peers.len() as i64);
        self.shared.metrics.running.dec();
        if self.reported_playback.playing {
            self.shared.metrics.playing.dec();
        }
    }

    fn feed(&mut self, input: Input) {
        self.engine.handle_input(self.clock.now(), input);
        self.drain_outputs();
    }

    fn act(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Engine(input) => self.feed(input),
                Action::LoadPlaylist(id, url) => {
                    http::load_playlist(self.shared.http.clone(), id, url, self.events.clone())
                }
            }
        }
    }

    fn on_io(&mut self, event: IoEvent) {
        if !matches!(
            event,
            IoEvent::ChannelMessage(..) | IoEvent::ChannelDrained(_)
        ) {
            tracing::debug!(event = ?Brief(&event), "io");
        }
        let tracker = |id: u32, open: &HashSet<u32>| open.contains(&id).then_some(TrackerId(id));
        let conn =
            |id: u32, open: &HashMap<u32, bool>| open.contains_key(&id).then_some(ConnId(id));
        let input = match event {
            IoEvent::TrackerOpen(id) => {
                tracker(id, &self.open_trackers).map(|tracker| Input::TrackerConnected { tracker })
            }
            IoEvent::TrackerMessage(id, message) => tracker(id, &self.open_trackers)
                .map(|tracker| Input::TrackerMessage { tracker, message }),
            IoEvent::TrackerClosed(id) => self.open_trackers.remove(&id).then(|| {
                self.trackers.close(id);
                Input::TrackerClosed {
                    tracker: TrackerId(id),
                }
            }),
            IoEvent::OfferSdp(id, sdp) => {
                conn(id, &self.open_conns).map(|conn| Input::OfferCreated { conn, sdp })
            }
            IoEvent::AnswerSdp(id, sdp) => {
                conn(id, &self.open_conns).map(|conn| Input::AnswerCreated { conn, sdp })
            }
            IoEvent::ChannelOpen(id) => self.open_conns.get_mut(&id).map(|opened| {
                *opened = true;
                Input::ChannelOpen { conn: ConnId(id) }
            }),
            IoEvent::PeerAddress(id, address) => {
                conn(id, &self.open_conns).map(|conn| Input::PeerAddress { conn, address })
            }
            IoEvent::ChannelMessage(id, data) => {
                conn(id, &self.open_conns).map(|conn| Input::ChannelMessage { conn, data })
            }
            IoEvent::ChannelDrained(id) => {
                conn(id, &self.open_conns).map(|conn| Input::ChannelBufferedLow { conn })
            }
            IoEvent::PeerClosed(id) => self.open_conns.remove(&id).map(|opened| {
                self.peers.close(id);
                let conn = ConnId(id);
                if opened {
                    Input::ChannelClosed { conn }
                } else {
                    Input::ConnectionFailed { conn }
                }
            }),
            IoEvent::Http(HttpJob::Prefetch(id), result) => {
                self.prefetches.remove(&id).map(|_| match result {
                    Some((data, first_byte)) => Input::HttpLoaded {
                        fetch: FetchId(id),
                        data,
                        first_byte,
                    },
                    None => Input::HttpFailed { fetch: FetchId(id) },
                })
            }
            IoEvent::Http(HttpJob::Request(id), result) => {
                self.request_loaded(RequestId(id), result.map(|(data, _)| data));
                None
            }
            IoEvent::Playlist(id, body) => {
                let mut actions = Vec::new();
                self.player
                    .playlist_loaded(self.clock.now(), id, body, &mut actions);
                self.act(actions);
                None
            }
        };
        if let Some(input) = input {
            self.feed(input);
        }
    }

    /// The player's own HTTP load of a request finished.
    fn request_loaded(&mut self, req: RequestId, data: Option<Vec<u8>>) {
        let mut actions = Vec::new();
        let now = self.clock.now();
        match data {
            Some(data) => {
                self.feed(Input::RequestLoaded { req, data });
                self.player.delivered(now, req, &mut actions);
            }
            None => {
                self.feed(Input::AbortRequest { req });
                self.player.failed(now, req, &mut actions);
            }
        }
        self.act(actions);
    }

    fn drain_outputs(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            self.execute(out);
        }
    }

    fn execute(&mut self, out: Output) {
        let setup = &self.shared.rtc;
        match out {
            Output::TrackerConnect { tracker, url } => {
                self.open_trackers.insert(tracker.0);
                self.trackers.open(tracker.0, url, self.events.clone());
            }
            Output::TrackerSend { tracker, message } => self.trackers.send(tracker.0, &message),
            Output::TrackerClose { tracker } => {
                self.open_trackers.remove(&tracker.0);
                self.trackers.close(tracker.0);
            }
            Output::CreateOffer { conn } => {
                self.open_conns.insert(conn.0, false);
                self.peers.start(conn.0, None, setup, self.events.clone());
            }
            Output::CreateAnswer { conn, offer_sdp } => {
                self.open_conns.insert(conn.0, false);
                self.peers
                    .start(conn.0, Some(offer_sdp), setup, self.events.clone());
            }
            Output::ApplyAnswer { conn, answer_sdp } => self.peers.accept(conn.0, answer_sdp),
            Output::CloseConnection { conn } => {
                self.open_conns.remove(&conn.0);
                self.peers.close(conn.0);
            }
            Output::SendData { conn, data } => self.peers.send(conn.0, data),
            // Each channel's writer reports it drained whenever it runs dry
            // with the channel's buffer low, and webrtc-rs's
            // `OnBufferedAmountLow` covers the rest.
            Output::NotifyWhenDrained { .. } => {}
            Output::HttpFetch { fetch, url, range } => {
                let task = self.load(url, range, HttpJob::Prefetch(fetch.0));
                self.prefetches.insert(fetch.0, task);
            }
            Output::HttpAbort { fetch } => {
                if let Some(task) = self.prefetches.remove(&fetch.0) {
                    task.abort();
                }
            }
            Output::Deliver { req, .. } => {
                let mut actions = Vec::new();
                self.player.delivered(self.clock.now(), req, &mut actions);
                self.act(actions);
            }
            Output::LoadOverHttp { req } => {
                // The player's own loader: the URL and range the request named.
                if let Some((url, range)) = self.player.request_target(req) {
                    self.load(url, range, HttpJob::Request(req.0));
                }
            }
            Output::Event(event) => tracing::debug!(?event, "engine event"),
        }
    }

    fn load(&self, url: String, range: Option<ByteRange>, job: HttpJob) -> JoinHandle<()> {
        http::load_segment(
            self.shared.http.clone(),
            url,
            range,
            job,
            self.shared.download.clone(),
            self.clock,
            self.events.clone(),
        )
    }

    /// Brings the shared metrics up to date with this node's counters.
    fn report(&mut self) {
        let now = self.engine.stats();
        self.shared.metrics.add_engine_delta(&self.reported, &now);
        self.reported = now;
        if let Some(p) = self.player.playback() {
            tracing::trace!(?p, "playback");
            let m = &self.shared.metrics;
            let before = self.reported_playback;
            m.stalls.inc_by(p.stalls - before.stalls);
            m.stall_seconds
                .inc_by((p.stall_ms - before.stall_ms) as f64 / 1000.0);
            match (before.playing, p.playing) {
                (false, true) => m.playing.inc(),
                (true, false) => m.playing.dec(),
                _ => 0,
            };
            if let (None, Some(startup)) = (before.startup_ms, p.startup_ms) {
                m.startup.observe(startup as f64 / 1000.0);
            }
            if let Some(latency) = p.latency_ms {
                m.live_latency.observe(latency as f64 / 1000.0);
            }
            self.reported_playback = p;
        }
    }
}

/// An I/O event without its payload, for logs.
struct Brief<'a>(&'a IoEvent);

impl std::fmt::Debug for Brief<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IoEvent::OfferSdp(id, _) => write!(f, "OfferSdp({id})"),
            IoEvent::AnswerSdp(id, _) => write!(f, "AnswerSdp({id})"),
            IoEvent::Http(job, r) => write!(f, "Http({job:?}, ok: {})", r.is_some()),
            IoEvent::Playlist(id, r) => write!(f, "Playlist({id:?}, ok: {})", r.is_ok()),
            IoEvent::TrackerMessage(id, m) => write!(
                f,
                "TrackerMessage({id}, {})",
                match m {
                    swarmcast_protocol::tracker::ServerMessage::Announce(_) => "announce reply",
                    swarmcast_protocol::tracker::ServerMessage::Offer(_) => "offer",
                    swarmcast_protocol::tracker::ServerMessage::Answer(_) => "answer",
                    swarmcast_protocol::tracker::ServerMessage::Scrape(_) => "scrape",
                    swarmcast_protocol::tracker::ServerMessage::Error(_) => "error",
                }
            ),
            other => write!(f, "{other:?}"),
        }
    }
}
