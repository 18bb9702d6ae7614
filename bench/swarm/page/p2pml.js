// P2P Media Loader v2 (npm p2p-media-loader-hlsjs 2.x, its self-contained dist
// bundle) as a benchmark engine, announcing to swarmcast's tracker. Byte counts
// come from its own onChunkDownloaded/onChunkUploaded events.
import { HlsJsP2PEngine } from "/vendor/p2p-media-loader-hlsjs/p2p-media-loader-hlsjs.es.min.js";

export async function p2pml({ Hls, tracker, log }) {
  const engine = new HlsJsP2PEngine({ core: { announceTrackers: [tracker], rtcConfig: { iceServers: [] } } });
  const hls = new Hls(engine.getConfigForHlsJs());
  engine.bindHls(hls);

  let httpBytes = 0;
  let p2pBytes = 0;
  let uploadBytes = 0;
  const peers = new Map();
  const peer = (id) => peers.get(id) ?? peers.set(id, { id, downloadedBytes: 0, uploadedBytes: 0 }).get(id);
  engine.addEventListener("onChunkDownloaded", (bytes, source, peerId) => {
    if (source === "http") {
      httpBytes += bytes;
    } else {
      p2pBytes += bytes;
      peer(peerId).downloadedBytes += bytes;
    }
  });
  engine.addEventListener("onChunkUploaded", (bytes, peerId) => {
    uploadBytes += bytes;
    peer(peerId).uploadedBytes += bytes;
  });
  engine.addEventListener("onPeerConnect", ({ peerId }) => {
    peer(peerId);
    log(`peer ${peerId} connected`);
  });
  engine.addEventListener("onPeerClose", ({ peerId }) => {
    peers.delete(peerId);
    log(`peer ${peerId} left`);
  });

  return {
    hls,
    stats: () => ({ httpBytes, p2pBytes, uploadBytes, peers: [...peers.values()] }),
  };
}
