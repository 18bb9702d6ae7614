//! The loop that couples the engine to the browser: browser events and API
//! calls are queued, fed to the engine one at a time, and the engine's
//! outputs are executed in order; then the one timer is re-armed. Queueing
//! makes re-entrancy harmless: a JS handler that calls back into the node
//! while outputs are being executed just adds to the queue.

use std::{
    cell::{Cell, RefCell},
    rc::{Rc, Weak},
};

use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

use super::{
    events::{EventSink, Kind},
    js::peer_id,
    rtc::Peers,
    slots::Slots,
    timer::{now_ms, Timer},
    tracker::Trackers,
    Browser, Sink,
};
use crate::engine::{ConnId, Engine, Event, Input, Output, PeerId, Source, TrackerId};

/// One unit of work for the loop.
pub(super) enum Step {
    Browser(Browser),
    Engine(Input),
}

struct Io {
    trackers: Trackers,
    peers: Peers,
    timer: Timer,
}

pub(super) struct Driver {
    engine: RefCell<Engine>,
    io: RefCell<Io>,
    /// Oldest first; a Vec, not a VecDeque: it is short, and one fewer
    /// collection type keeps the wasm smaller.
    queue: RefCell<Vec<Step>>,
    busy: Cell<bool>,
    stopped: Cell<bool>,
    /// Sockets the engine has open; events of any other are stale.
    trackers: RefCell<Slots<()>>,
    /// Connections the engine knows, and whether their channel has opened.
    conns: RefCell<Slots<bool>>,
    /// Peer ids of connected peers, for event details.
    peer_ids: RefCell<Slots<PeerId>>,
    /// The JS glue's event handler.
    events: EventSink,
}

impl Driver {
    /// A driver whose browser callbacks feed back into it.
    pub fn new(
        engine: Engine,
        rtc_config: JsValue,
        low_water: u32,
        events: EventSink,
    ) -> Rc<Driver> {
        Rc::new_cyclic(|me: &Weak<Driver>| {
            let me = me.clone();
            let sink: Sink = Rc::new(move |event| {
                if let Some(d) = me.upgrade() {
                    d.feed(Step::Browser(event));
                }
            });
            Driver {
                engine: RefCell::new(engine),
                io: RefCell::new(Io {
                    trackers: Trackers::new(sink.clone()),
                    peers: Peers::new(rtc_config, low_water, sink.clone()),
                    timer: Timer::new(sink),
                }),
                queue: RefCell::default(),
                busy: Cell::new(false),
                stopped: Cell::new(false),
                trackers: RefCell::default(),
                conns: RefCell::default(),
                peer_ids: RefCell::default(),
                events,
            }
        })
    }

    /// Queues one step and, unless already running, runs the loop to idle.
    pub fn feed(&self, step: Step) {
        if self.stopped.get() {
            return;
        }
        self.queue.borrow_mut().push(step);
        if self.busy.replace(true) {
            return;
        }
        loop {
            let next = {
                let mut queue = self.queue.borrow_mut();
                (!queue.is_empty()).then(|| queue.remove(0))
            };
            let Some(step) = next else { break };
            let input = match step {
                Step::Engine(input) => Some(input),
                Step::Browser(event) => self.input_for(event),
            };
            if let Some(input) = input {
                self.engine.borrow_mut().handle_input(now_ms(), input);
            }
            loop {
                let out = self.engine.borrow_mut().poll_output();
                let Some(out) = out else { break };
                self.execute(out);
            }
        }
        if !self.stopped.get() {
            let deadline = self.engine.borrow().poll_timeout();
            self.io.borrow_mut().timer.arm(deadline, now_ms());
        }
        self.busy.set(false);
    }

    pub fn engine(&self) -> std::cell::Ref<'_, Engine> {
        self.engine.borrow()
    }

    /// Closes every socket and connection; the driver then ignores everything.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.queue.borrow_mut().clear();
        let mut io = self.io.borrow_mut();
        io.trackers.close_all();
        io.peers.close_all();
        io.timer.disarm();
    }

    /// The engine input for a browser event, after the shell's own
    /// bookkeeping; None for stale events about things the engine closed.
    fn input_for(&self, event: Browser) -> Option<Input> {
        let tracker = |id| self.trackers.borrow().contains(id).then_some(TrackerId(id));
        let conn = |id| self.conns.borrow().contains(id).then_some(ConnId(id));
        Some(match event {
            Browser::Timer => {
                self.io.borrow_mut().timer.fired();
                Input::Tick
            }
            Browser::TrackerOpen(id) => Input::TrackerConnected {
                tracker: tracker(id)?,
            },
            Browser::TrackerMessage(id, message) => Input::TrackerMessage {
                tracker: tracker(id)?,
                message,
            },
            Browser::TrackerClosed(id) => {
                self.trackers.borrow_mut().remove(id)?;
                self.io.borrow_mut().trackers.close(id);
                Input::TrackerClosed {
                    tracker: TrackerId(id),
                }
            }
            Browser::OfferSdp(id, sdp) => Input::OfferCreated {
                conn: conn(id)?,
                sdp,
            },
            Browser::AnswerSdp(id, sdp) => Input::AnswerCreated {
                conn: conn(id)?,
                sdp,
            },
            Browser::Channel(id, dc) => {
                conn(id)?;
                self.io.borrow_mut().peers.attach_channel(id, dc);
                return None;
            }
            Browser::PeerOpen(id) => {
                *self.conns.borrow_mut().get_mut(id)? = true;
                Input::ChannelOpen { conn: ConnId(id) }
            }
            Browser::PeerAddress(id, address) => Input::PeerAddress {
                conn: conn(id)?,
                address,
            },
            Browser::PeerMessage(id, data) => Input::ChannelMessage {
                conn: conn(id)?,
                data,
            },
            Browser::PeerDrained(id) => Input::ChannelBufferedLow { conn: conn(id)? },
            Browser::PeerClosed(id) => {
                let opened = self.conns.borrow_mut().remove(id)?;
                self.io.borrow_mut().peers.close(id);
                let conn = ConnId(id);
                if opened {
                    Input::ChannelClosed { conn }
                } else {
                    Input::ConnectionFailed { conn }
                }
            }
            Browser::Tracker(id, message, warning) => {
                self.tracker_notice(id, &message, warning);
                return None;
            }
        })
    }

    fn execute(&self, out: Output) {
        let mut io = self.io.borrow_mut();
        match out {
            Output::TrackerConnect { tracker, url } => {
                self.trackers.borrow_mut().insert(tracker.0, ());
                io.trackers.open(tracker.0, &url);
            }
            Output::TrackerSend { tracker, message } => io.trackers.send(tracker.0, &message),
            Output::TrackerClose { tracker } => {
                self.trackers.borrow_mut().remove(tracker.0);
                io.trackers.close(tracker.0);
            }
            Output::CreateOffer { conn } => {
                self.conns.borrow_mut().insert(conn.0, false);
                io.peers.offer(conn.0);
            }
            Output::CreateAnswer { conn, offer_sdp } => {
                self.conns.borrow_mut().insert(conn.0, false);
                io.peers.answer(conn.0, &offer_sdp);
            }
            Output::ApplyAnswer { conn, answer_sdp } => io.peers.accept(conn.0, &answer_sdp),
            Output::CloseConnection { conn } => {
                self.conns.borrow_mut().remove(conn.0);
                io.peers.close(conn.0);
            }
            Output::SendData { conn, data } => io.peers.send(conn.0, &data),
            Output::NotifyWhenDrained { conn } => io.peers.notify_when_drained(conn.0),
            Output::HttpFetch { fetch, url, range } => {
                drop(io);
                let (start, end) = range.map_or((0, 0), |r| (r.start, r.end));
                let nums = [start as f64, end as f64, 0.0];
                self.events
                    .send(Kind::HttpFetch, fetch.0, nums, &JsValue::NULL, &url.into());
            }
            Output::HttpAbort { fetch } => {
                drop(io);
                let none = JsValue::NULL;
                self.events
                    .send(Kind::HttpAbort, fetch.0, [0.0; 3], &none, &none);
            }
            Output::Deliver {
                req,
                data,
                source,
                timing,
            } => {
                drop(io); // the glue's handler may call back into the node
                let times = [timing.start_ms, timing.first_byte_ms, timing.end_ms];
                self.events.send(
                    Kind::Data,
                    req.0,
                    times.map(|t| t as f64),
                    &Uint8Array::from(&data[..]),
                    &self.source_peer(source),
                );
            }
            Output::LoadOverHttp { req } => {
                drop(io);
                let none = JsValue::NULL;
                self.events
                    .send(Kind::ToHttp, req.0, [0.0; 3], &none, &none);
            }
            Output::Event(event) => {
                drop(io);
                self.public_event(event);
            }
        }
    }

    fn public_event(&self, event: Event) {
        let none = JsValue::NULL;
        match event {
            Event::PeerConnected { conn, peer_id: id } => {
                self.peer_ids.borrow_mut().insert(conn.0, id);
                self.events
                    .send(Kind::PeerConnect, 0, [0.0; 3], &none, &peer_id(&id));
            }
            Event::PeerClosed { conn, peer_id: id } => {
                self.peer_ids.borrow_mut().remove(conn.0);
                self.events
                    .send(Kind::PeerClose, 0, [0.0; 3], &none, &peer_id(&id));
            }
            Event::BytesDown { source, bytes } => {
                let from_peer = if matches!(source, Source::Http) {
                    0.0
                } else {
                    1.0
                };
                let nums = [bytes as f64, from_peer, 0.0];
                self.events
                    .send(Kind::Bytes, 0, nums, &none, &self.source_peer(source));
            }
            Event::BytesUp { conn, bytes } => {
                let nums = [bytes as f64, 2.0, 0.0];
                self.events
                    .send(Kind::Bytes, 0, nums, &none, &self.conn_peer(conn));
            }
            Event::TrackerError { tracker, reason } => {
                self.tracker_notice(tracker.0, &reason.into(), false)
            }
        }
    }

    fn source_peer(&self, source: Source) -> JsValue {
        match source {
            Source::Http => JsValue::NULL,
            Source::P2p(conn) => self.conn_peer(conn),
        }
    }

    fn conn_peer(&self, conn: ConnId) -> JsValue {
        self.peer_ids
            .borrow()
            .get(conn.0)
            .map_or_else(|| JsValue::from(conn.0), peer_id)
    }

    /// Tracker `id` failed, or warned; `message` goes to the glue as it is
    /// (a JS error or a string), and the glue takes its message.
    fn tracker_notice(&self, id: u32, message: &JsValue, warning: bool) {
        let none = JsValue::NULL;
        self.events.send(
            Kind::Tracker,
            0,
            [f64::from(id), f64::from(u8::from(warning)), 0.0],
            message,
            &none,
        );
    }
}
