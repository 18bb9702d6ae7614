// A TypeScript user of the package, type-checked by tests/node/types.test.mjs
// under ESM and CommonJS settings. Each `@ts-expect-error` is an assertion:
// tsc fails if that line does NOT have a type error.
import Hls from "hls.js";
import { Swarmcast, type SwarmcastOptions, type SwarmcastSettings, type SwarmcastStats } from "swarmcast";

const hls = new Hls();
const options: SwarmcastOptions = {
  trackers: ["wss://tracker.example"],
  maxPeers: 10,
  validateSegment: (bytes, info) => bytes.byteLength > 0 && info.sn >= 0,
};

export async function start(): Promise<SwarmcastStats | null> {
  if (!Swarmcast.isSupported()) return null;
  // hls.js's own class fits attach(), whichever of its type files was resolved.
  const p2p: Swarmcast = await Swarmcast.attach(hls, options);
  p2p.addEventListener("bytes", (e) => {
    const peer: string | null = e.detail.peerId;
    console.log(e.detail.kind, e.detail.bytes, peer);
  });
  p2p.addEventListener("error", (e) => console.log(e.detail.where, e.detail.message));
  p2p.addEventListener("trackererror", (e) => {
    const tracker: number = e.detail.tracker;
    console.log(tracker, e.detail.url, e.detail.message);
  });
  p2p.addEventListener("trackerwarning", (e) => console.log(e.detail.tracker, e.detail.message));
  p2p.addEventListener("segmenterror", (e) => console.log(e.detail.url, e.detail.message));
  p2p.addEventListener("segmentabort", (e) => {
    const sn: number | "initSegment" = e.detail.sn;
    console.log(e.detail.url, sn, e.detail.level, e.detail.type);
  });
  p2p.addEventListener("segmentloaded", (e) => console.log(e.detail.sn, e.detail.source));
  const settings: SwarmcastSettings = { download: false, maxP2PDownloads: 2, memoryCapBytes: 32 << 20 };
  p2p.configure(settings);
  p2p.configure({ upload: false, trackers: ["wss://tracker.example"] });
  // @ts-expect-error the swarm id is fixed by attach()
  p2p.configure({ swarmId: "other" });
  return p2p.stats();
}

// @ts-expect-error the constructor is private: Swarmcast.attach() makes instances
new Swarmcast();

// @ts-expect-error test-only options are not part of the public type
Swarmcast.attach(hls, { testOnlyCorruptUploads: true });
