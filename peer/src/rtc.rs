//! WebRTC peers with webrtc-rs: one peer connection with one ordered data
//! channel each, complete (non-trickle) SDP, as the browser shell makes them.
//! Each connection is a task; decisions stay in the engine.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rtc_ice::mdns::MulticastDnsMode;
use rtc_mdns::MulticastSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, RTCIceServer, RTCPeerConnectionState, RTCSessionDescription,
    SettingEngineBuilder,
};

use crate::io::{finish, IoEvent, IoSender, RateLimit};

/// Longest wait for ICE gathering; a slow STUN server must not hold an offer back.
const GATHER_TIMEOUT: Duration = Duration::from_secs(2);

/// How every connection of a process is set up.
#[derive(Clone)]
pub struct RtcSetup {
    pub ice_servers: Vec<String>,
    /// Local address the UDP sockets bind to (port chosen by the system).
    pub bind: IpAddr,
    /// Whether browsers' mDNS (`.local`) host candidates are resolved (see
    /// [`multicast_dns_usable`]).
    pub mdns: bool,
    /// `bufferedamountlow` threshold (the engine's `channel_low_water`).
    pub low_water: usize,
    pub upload: RateLimit,
    pub download: RateLimit,
}

enum Command {
    Accept(String),
    Close,
}

struct Conn {
    commands: mpsc::UnboundedSender<Command>,
    data: mpsc::UnboundedSender<Vec<u8>>,
    task: JoinHandle<()>,
}

/// The connections of one node, by the engine's connection id.
#[derive(Default)]
pub struct Peers {
    conns: HashMap<u32, Conn>,
    /// Connections closing.
    closing: Vec<JoinHandle<()>>,
}

impl Peers {
    /// Starts connection `id`: offering (`offer: None`) or answering `offer`.
    /// Its SDP comes back as `OfferSdp` or `AnswerSdp`.
    pub fn start(&mut self, id: u32, offer: Option<String>, setup: &RtcSetup, events: IoSender) {
        self.close(id);
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (data, data_rx) = mpsc::unbounded_channel();
        let setup = setup.clone();
        let task = tokio::spawn(async move {
            let link = Link {
                id,
                setup,
                events: events.clone(),
            };
            if let Err(e) = link.run(offer, command_rx, data_rx).await {
                tracing::debug!(conn = id, error = %e, "peer connection ended");
            }
            events.send(IoEvent::PeerClosed(id));
        });
        self.conns.insert(
            id,
            Conn {
                commands,
                data,
                task,
            },
        );
    }

    /// Completes an offer made by `start(id, None)` with the remote answer.
    pub fn accept(&mut self, id: u32, answer: String) {
        if let Some(c) = self.conns.get(&id) {
            let _ = c.commands.send(Command::Accept(answer));
        }
    }

    pub fn send(&mut self, id: u32, bytes: Vec<u8>) {
        if let Some(c) = self.conns.get(&id) {
            let _ = c.data.send(bytes);
        }
    }

    /// Closes connection `id` (its task closes it); its later events are stale.
    pub fn close(&mut self, id: u32) {
        if let Some(c) = self.conns.remove(&id) {
            let _ = c.commands.send(Command::Close);
            self.closing.retain(|t| !t.is_finished());
            self.closing.push(c.task);
        }
    }

    /// Closes every connection and waits (briefly) until they are closed.
    pub async fn close_all(&mut self) {
        let ids: Vec<u32> = self.conns.keys().copied().collect();
        for id in ids {
            self.close(id);
        }
        finish(std::mem::take(&mut self.closing)).await;
    }
}

/// Whether this host can resolve browsers' mDNS (`.local`) host candidates.
/// webrtc-rs opens an mDNS socket for each connection and fails the
/// connection if that socket cannot join the multicast group (a host or
/// namespace without a multicast route, e.g. loopback only), so this opens
/// one the same way, once. Without mDNS a browser that offers only `.local`
/// candidates still connects: its connectivity checks reach our host
/// candidates and ICE pairs with the address they came from (peer-reflexive).
pub fn multicast_dns_usable() -> bool {
    MulticastSocket::new().into_std().is_ok()
}

/// What the connection's event handler passes to its task.
enum PcEvent {
    Gathered,
    Failed,
    Channel(Arc<dyn DataChannel>),
}

struct Handler(mpsc::UnboundedSender<PcEvent>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(PcEvent::Gathered);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if matches!(
            state,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
        ) {
            let _ = self.0.send(PcEvent::Failed);
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.0.send(PcEvent::Channel(channel));
    }
}

/// One connection's task state.
struct Link {
    id: u32,
    setup: RtcSetup,
    events: IoSender,
}

impl Link {
    async fn run(
        self,
        offer: Option<String>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        data: mpsc::UnboundedReceiver<Vec<u8>>,
    ) -> anyhow::Result<()> {
        let (pc_tx, mut pc_events) = mpsc::unbounded_channel();
        let ice_servers = self
            .setup
            .ice_servers
            .iter()
            .map(|url| RTCIceServer {
                urls: vec![url.clone()],
                ..Default::default()
            })
            .collect();
        let mut builder = PeerConnectionBuilder::new();
        if !self.setup.mdns {
            builder = builder.with_setting_engine(
                SettingEngineBuilder::new()
                    .with_multicast_dns_mode(MulticastDnsMode::Disabled)
                    .build(),
            );
        }
        let pc = builder
            .with_configuration(
                RTCConfigurationBuilder::new()
                    .with_ice_servers(ice_servers)
                    .build(),
            )
            .with_handler(Arc::new(Handler(pc_tx)))
            .with_udp_addrs(vec![SocketAddr::new(self.setup.bind, 0)])
            .build()
            .await?;
        let result = self
            .negotiate_and_serve(&pc, offer, &mut commands, &mut pc_events, data)
            .await;
        let _ = pc.close().await;
        result
    }

    async fn negotiate_and_serve(
        &self,
        pc: &impl PeerConnection,
        offer: Option<String>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        pc_events: &mut mpsc::UnboundedReceiver<PcEvent>,
        data: mpsc::UnboundedReceiver<Vec<u8>>,
    ) -> anyhow::Result<()> {
        let mut channel = None;
        match offer {
            None => {
                let init = RTCDataChannelInit {
                    ordered: true,
                    ..Default::default()
                };
                channel = Some(pc.create_data_channel("swarmcast", Some(init)).await?);
                let offer = pc.create_offer(None).await?;
                pc.set_local_description(offer).await?;
            }
            Some(sdp) => {
                pc.set_remote_description(RTCSessionDescription::offer(sdp)?)
                    .await?;
                let answer = pc.create_answer(None).await?;
                pc.set_local_description(answer).await?;
            }
        }
        let offering = channel.is_some();
        // Non-trickle: the SDP goes out once gathering is complete (or timed out).
        tokio::time::timeout(GATHER_TIMEOUT, async {
            while let Some(e) = pc_events.recv().await {
                match e {
                    PcEvent::Gathered => break,
                    PcEvent::Channel(c) => channel = Some(c),
                    PcEvent::Failed => anyhow::bail!("failed while gathering"),
                }
            }
            Ok(())
        })
        .await
        .unwrap_or(Ok(()))?;
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| anyhow::anyhow!("no local description"))?
            .sdp;
        self.events.send(if offering {
            IoEvent::OfferSdp(self.id, sdp)
        } else {
            IoEvent::AnswerSdp(self.id, sdp)
        });

        let mut writer = None;
        let mut data = Some(data);
        loop {
            // The answering side's channel arrives later; its writer starts then.
            if let Some(c) = channel.as_ref().filter(|_| writer.is_none()) {
                c.set_buffered_amount_low_threshold(self.setup.low_water as u32)
                    .await?;
                if let Some(d) = data.take() {
                    writer = Some(spawn_writer(c.clone(), d, self));
                }
            }
            let next_channel_event = async {
                match &channel {
                    Some(c) => c.poll().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Accept(sdp)) => {
                        pc.set_remote_description(RTCSessionDescription::answer(sdp)?).await?;
                    }
                    Some(Command::Close) | None => break,
                },
                event = pc_events.recv() => match event {
                    Some(PcEvent::Channel(c)) if channel.is_none() => channel = Some(c),
                    Some(PcEvent::Failed) | None => break,
                    Some(_) => {}
                },
                event = next_channel_event => match event {
                    Some(DataChannelEvent::OnOpen) => {
                        self.events.send(IoEvent::ChannelOpen(self.id));
                        if let Some(address) = remote_address(pc).await {
                            self.events.send(IoEvent::PeerAddress(self.id, address));
                        }
                    }
                    Some(DataChannelEvent::OnMessage(m)) => {
                        self.setup.download.take(m.data.len()).await;
                        self.events.send(IoEvent::ChannelMessage(self.id, m.data.to_vec()));
                    }
                    Some(DataChannelEvent::OnBufferedAmountLow) => {
                        self.events.send(IoEvent::ChannelDrained(self.id));
                    }
                    Some(DataChannelEvent::OnClose) | None => break,
                    Some(_) => {}
                },
            }
        }
        if let Some(w) = writer {
            w.abort();
        }
        Ok(())
    }
}

/// Where the peer is, for the engine's penalties: a hash (never 0) of the
/// remote IP of the selected ICE candidate pair; `None` when there is none or
/// the address is an mDNS name that hides it.
async fn remote_address(pc: &impl PeerConnection) -> Option<u32> {
    let ice = pc.sctp().await?.transport().ice_transport();
    let pair = ice.get_selected_candidate_pair().await.ok()??;
    let ip = &pair.remote().address;
    if ip.is_empty() || ip.ends_with(".local") {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    ip.hash(&mut hasher);
    Some((hasher.finish() as u32).max(1))
}

/// Sends a channel's queued messages at the upload cap. When the queue has
/// run dry and the channel's own buffer is low it reports the channel
/// drained, as the browser's `bufferedamountlow` would: otherwise a capped
/// channel, whose bytes wait here rather than in the channel, would never
/// report it.
fn spawn_writer(
    channel: Arc<dyn DataChannel>,
    mut queue: mpsc::UnboundedReceiver<Vec<u8>>,
    link: &Link,
) -> JoinHandle<()> {
    let (id, events, limit, low_water) = (
        link.id,
        link.events.clone(),
        link.setup.upload.clone(),
        link.setup.low_water,
    );
    tokio::spawn(async move {
        while let Some(bytes) = queue.recv().await {
            limit.take(bytes.len()).await;
            if channel.send(BytesMut::from(&bytes[..])).await.is_err() {
                break;
            }
            let buffered = channel.outstanding_bytes().await.unwrap_or(0);
            if queue.is_empty() && buffered <= low_water {
                events.send(IoEvent::ChannelDrained(id));
            }
        }
    })
}
