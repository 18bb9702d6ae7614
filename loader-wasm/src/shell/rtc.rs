//! WebRTC peers: one RTCPeerConnection with one ordered binary data channel
//! each. Produces complete (non-trickle) SDP offers and answers, because the
//! WebTorrent tracker relays exactly one offer and one answer per connection.
//! Decisions (whom to offer to, which answer matches) stay in the engine.

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit,
    RtcDataChannelType, RtcIceGatheringState, RtcPeerConnection, RtcPeerConnectionState,
    RtcSdpType, RtcSessionDescriptionInit,
};

use super::{
    callback::{callback, then_or},
    slots::Slots,
    timer::set_timeout_with,
    Browser, Sink,
};

/// Longest wait for ICE gathering; a slow STUN server must not hold an offer back.
const GATHER_TIMEOUT_MS: f64 = 2_000.0;

#[wasm_bindgen]
extern "C" {
    /// An RTCPeerConnection, for what web-sys does not bind:
    /// `setLocalDescription()` without arguments creates the offer or answer
    /// that the signalling state calls for.
    type Connection;
    #[wasm_bindgen(method, js_name = setLocalDescription)]
    fn set_local_description(this: &Connection) -> Promise;
    #[wasm_bindgen(method, getter = setLocalDescription)]
    fn set_local_description_method(this: &Connection) -> Function;
}

#[wasm_bindgen(module = "/js/address.js")]
extern "C" {
    /// A promise of the hash of the connection's remote IP, or of undefined.
    #[wasm_bindgen(js_name = remoteAddress)]
    fn remote_address(pc: &RtcPeerConnection) -> Promise;
}

fn connection_of(pc: &RtcPeerConnection) -> &Connection {
    pc.unchecked_ref()
}

struct Peer {
    pc: RtcPeerConnection,
    dc: Option<RtcDataChannel>,
}

impl Peer {
    fn shut(self) {
        if let Some(dc) = &self.dc {
            detach_channel(dc);
            dc.close();
        }
        self.pc.set_ondatachannel(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.set_onicegatheringstatechange(None);
        self.pc.close();
    }
}

fn detach_channel(dc: &RtcDataChannel) {
    dc.set_onopen(None);
    dc.set_onmessage(None);
    dc.set_onclose(None);
    dc.set_onbufferedamountlow(None);
}

pub(super) struct Peers {
    peers: Slots<Peer>,
    /// The page's RTCConfiguration (ICE servers etc.), passed through untouched.
    config: JsValue,
    /// `bufferedamountlow` fires when a channel's queue drains below this.
    low_water: u32,
    sink: Sink,
}

impl Peers {
    pub fn new(config: JsValue, low_water: u32, sink: Sink) -> Self {
        Self {
            peers: Slots::default(),
            config,
            low_water,
            sink,
        }
    }

    /// Starts connection `id` as the offering side; its SDP comes back as `OfferSdp`.
    pub fn offer(&mut self, id: u32) {
        let Some(pc) = self.connection(id) else {
            return;
        };
        let init = RtcDataChannelInit::new();
        init.set_ordered(true);
        let dc = pc.create_data_channel_with_data_channel_dict("swarmcast", &init);
        self.attach_channel(id, dc);
        let gathered = self.when_gathered(&pc, id, Browser::OfferSdp);
        then_or(
            &connection_of(&pc).set_local_description(),
            &gathered,
            &self.closer(id),
        );
    }

    /// Answers a remote offer on connection `id`; the answer comes back as `AnswerSdp`.
    pub fn answer(&mut self, id: u32, offer_sdp: &str) {
        let Some(pc) = self.connection(id) else {
            return;
        };
        let offer = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        offer.set_sdp(offer_sdp);
        let set_local = connection_of(&pc).set_local_description_method().bind0(&pc);
        let local_set = then_or(
            &pc.set_remote_description(&offer),
            &set_local,
            &JsValue::UNDEFINED,
        );
        let gathered = self.when_gathered(&pc, id, Browser::AnswerSdp);
        then_or(&local_set, &gathered, &self.closer(id));
    }

    /// Completes an offer made by `offer(id)` with the remote side's answer.
    pub fn accept(&mut self, id: u32, answer_sdp: &str) {
        let Some(peer) = self.peers.get(id) else {
            return;
        };
        let answer = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        answer.set_sdp(answer_sdp);
        then_or(
            &peer.pc.set_remote_description(&answer),
            &JsValue::UNDEFINED,
            &self.closer(id),
        );
    }

    /// A callback reporting connection `id` closed, for failed negotiation steps.
    fn closer(&self, id: u32) -> JsValue {
        let sink = self.sink.clone();
        callback(move |_| sink(Browser::PeerClosed(id)))
    }

    /// The callback for when `pc`'s local description is set: it reports the
    /// local SDP as `sdp_event` once ICE gathering completes, or after
    /// GATHER_TIMEOUT_MS with the candidates gathered so far. It also runs on
    /// each gathering state change and at the timeout, and reports once.
    fn when_gathered(
        &self,
        pc: &RtcPeerConnection,
        id: u32,
        sdp_event: fn(u32, String) -> Browser,
    ) -> JsValue {
        let sink = self.sink.clone();
        let watched = pc.clone();
        let mut reported = false;
        let check = callback(move |arg| {
            // Only the timeout passes `true`.
            let timed_out = arg.as_bool() == Some(true);
            let complete = watched.ice_gathering_state() == RtcIceGatheringState::Complete;
            // Closed meanwhile: Firefox throws on `localDescription` then.
            let closed = watched.connection_state() == RtcPeerConnectionState::Closed;
            if reported || closed || !(timed_out || complete) {
                return;
            }
            reported = true;
            sink(match watched.local_description() {
                Some(d) => sdp_event(id, d.sdp()),
                None => Browser::PeerClosed(id),
            });
        });
        pc.set_onicegatheringstatechange(Some(check.unchecked_ref()));
        set_timeout_with(&check, GATHER_TIMEOUT_MS, &JsValue::TRUE);
        check
    }

    /// Queues `bytes` on the channel; a failed send closes the peer.
    pub fn send(&mut self, id: u32, bytes: &[u8]) {
        let Some(dc) = self.peers.get(id).and_then(|p| p.dc.as_ref()) else {
            return;
        };
        if dc.send_with_u8_array(bytes).is_err() {
            self.close(id);
            (self.sink)(Browser::PeerClosed(id));
        }
    }

    /// Reports the channel drained now if its buffer is already low;
    /// otherwise `bufferedamountlow` will, as the amount falls.
    pub fn notify_when_drained(&self, id: u32) {
        let Some(dc) = self.peers.get(id).and_then(|p| p.dc.as_ref()) else {
            return;
        };
        if dc.buffered_amount() <= self.low_water {
            (self.sink)(Browser::PeerDrained(id));
        }
    }

    pub fn close(&mut self, id: u32) {
        if let Some(p) = self.peers.remove(id) {
            p.shut();
        }
    }

    pub fn close_all(&mut self) {
        for (_, p) in self.peers.take_all() {
            p.shut();
        }
    }

    /// A new RTCPeerConnection for `id`, watched for failure and for the
    /// answering side's incoming data channel. None (reported) if the browser refuses.
    fn connection(&mut self, id: u32) -> Option<RtcPeerConnection> {
        self.close(id);
        let Ok(pc) = RtcPeerConnection::new_with_configuration(
            self.config.unchecked_ref::<RtcConfiguration>(),
        ) else {
            (self.sink)(Browser::PeerClosed(id));
            return None;
        };
        let sink = self.sink.clone();
        let watched = pc.clone();
        let on_state = callback(move |_| {
            if matches!(
                watched.connection_state(),
                RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed
            ) {
                sink(Browser::PeerClosed(id));
            }
        });
        pc.set_onconnectionstatechange(Some(on_state.unchecked_ref()));
        // Answering side: the offerer's channel arrives as an event, and comes
        // back to `attach_channel` through the driver.
        let sink = self.sink.clone();
        let on_channel = callback(move |e| {
            sink(Browser::Channel(
                id,
                e.unchecked_into::<RtcDataChannelEvent>().channel(),
            ));
        });
        pc.set_ondatachannel(Some(on_channel.unchecked_ref()));
        self.peers.insert(
            id,
            Peer {
                pc: pc.clone(),
                dc: None,
            },
        );
        Some(pc)
    }

    /// Wires a data channel's events to the engine.
    pub fn attach_channel(&mut self, id: u32, dc: RtcDataChannel) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        dc.set_buffered_amount_low_threshold(self.low_water);
        let s = self.sink.clone();
        let pc = peer.pc.clone();
        let open = callback(move |_| {
            s(Browser::PeerOpen(id));
            // Once open, the selected candidate pair says where the peer is.
            let s = s.clone();
            let found = callback(move |hash| {
                if let Some(hash) = hash.as_f64() {
                    s(Browser::PeerAddress(id, hash as u32));
                }
            });
            then_or(&remote_address(&pc), &found, &JsValue::UNDEFINED);
        });
        let s = self.sink.clone();
        let message = callback(move |e| {
            let data = e.unchecked_into::<MessageEvent>().data();
            s(Browser::PeerMessage(id, Uint8Array::new(&data).to_vec()));
        });
        let s = self.sink.clone();
        let close = callback(move |_| s(Browser::PeerClosed(id)));
        let s = self.sink.clone();
        let drained = callback(move |_| s(Browser::PeerDrained(id)));
        dc.set_onopen(Some(open.unchecked_ref()));
        dc.set_onmessage(Some(message.unchecked_ref()));
        dc.set_onclose(Some(close.unchecked_ref()));
        dc.set_onbufferedamountlow(Some(drained.unchecked_ref()));
        peer.dc = Some(dc);
    }
}
