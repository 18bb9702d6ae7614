//! WebRTC peers: one RTCPeerConnection with one ordered binary data channel
//! each. Produces complete (non-trickle) SDP offers and answers, because the
//! WebTorrent tracker relays exactly one offer and one answer per connection.
//! Decisions (whom to offer to, which answer matches) stay in the engine.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit,
    RtcDataChannelType, RtcIceGatheringState, RtcPeerConnection, RtcPeerConnectionState,
    RtcSdpType, RtcSessionDescriptionInit,
};

use super::{slots::Slots, timer::sleep, Browser, Sink};

/// Longest wait for ICE gathering; a slow STUN server must not hold an offer back.
const GATHER_TIMEOUT_MS: i32 = 2_000;

struct Peer {
    pc: RtcPeerConnection,
    dc: Option<RtcDataChannel>,
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Peer {
    fn shut(self) {
        if let Some(dc) = &self.dc {
            detach_channel(dc);
            dc.close();
        }
        self.pc.set_ondatachannel(None);
        self.pc.set_onconnectionstatechange(None);
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
        let sink = self.sink.clone();
        spawn_local(async move {
            let sdp = async {
                let offer = JsFuture::from(pc.create_offer()).await?;
                JsFuture::from(pc.set_local_description(offer.unchecked_ref())).await?;
                Ok::<_, JsValue>(gathered_sdp(&pc).await)
            };
            sink(match sdp.await {
                Ok(Some(sdp)) => Browser::OfferSdp(id, sdp),
                _ => Browser::PeerClosed(id),
            });
        });
    }

    /// Answers a remote offer on connection `id`; the answer comes back as `AnswerSdp`.
    pub fn answer(&mut self, id: u32, offer_sdp: &str) {
        let Some(pc) = self.connection(id) else {
            return;
        };
        let offer = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        offer.set_sdp(offer_sdp);
        let sink = self.sink.clone();
        spawn_local(async move {
            let sdp = async {
                JsFuture::from(pc.set_remote_description(&offer)).await?;
                let answer = JsFuture::from(pc.create_answer()).await?;
                JsFuture::from(pc.set_local_description(answer.unchecked_ref())).await?;
                Ok::<_, JsValue>(gathered_sdp(&pc).await)
            };
            sink(match sdp.await {
                Ok(Some(sdp)) => Browser::AnswerSdp(id, sdp),
                _ => Browser::PeerClosed(id),
            });
        });
    }

    /// Completes an offer made by `offer(id)` with the remote side's answer.
    pub fn accept(&mut self, id: u32, answer_sdp: &str) {
        let Some(peer) = self.peers.get(id) else {
            return;
        };
        let answer = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        answer.set_sdp(answer_sdp);
        let done = JsFuture::from(peer.pc.set_remote_description(&answer));
        let sink = self.sink.clone();
        spawn_local(async move {
            if done.await.is_err() {
                sink(Browser::PeerClosed(id));
            }
        });
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
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if matches!(
                watched.connection_state(),
                RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed
            ) {
                sink(Browser::PeerClosed(id));
            }
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        // Answering side: the offerer's channel arrives as an event, and comes
        // back to `attach_channel` through the driver.
        let sink = self.sink.clone();
        let on_channel = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            sink(Browser::Channel(
                id,
                e.unchecked_into::<RtcDataChannelEvent>().channel(),
            ));
        });
        pc.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
        self.peers.insert(
            id,
            Peer {
                pc: pc.clone(),
                dc: None,
                handlers: vec![on_state, on_channel],
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
        let on = |f: Box<dyn FnMut(JsValue)>| Closure::wrap(f);
        let s = self.sink.clone();
        let open = on(Box::new(move |_| s(Browser::PeerOpen(id))));
        let s = self.sink.clone();
        let message = on(Box::new(move |e: JsValue| {
            let data = e.unchecked_into::<MessageEvent>().data();
            s(Browser::PeerMessage(id, Uint8Array::new(&data).to_vec()));
        }));
        let s = self.sink.clone();
        let close = on(Box::new(move |_| s(Browser::PeerClosed(id))));
        let s = self.sink.clone();
        let drained = on(Box::new(move |_| s(Browser::PeerDrained(id))));
        dc.set_onopen(Some(open.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(message.as_ref().unchecked_ref()));
        dc.set_onclose(Some(close.as_ref().unchecked_ref()));
        dc.set_onbufferedamountlow(Some(drained.as_ref().unchecked_ref()));
        peer.handlers.extend([open, message, close, drained]);
        peer.dc = Some(dc);
    }
}

/// Waits until ICE gathering completes (or times out) and returns the local
/// SDP with every candidate gathered so far.
async fn gathered_sdp(pc: &RtcPeerConnection) -> Option<String> {
    let mut waited = 0;
    while pc.ice_gathering_state() != RtcIceGatheringState::Complete && waited < GATHER_TIMEOUT_MS {
        sleep(10).await;
        waited += 10;
    }
    Some(pc.local_description()?.sdp())
}
