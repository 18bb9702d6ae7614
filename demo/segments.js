// The per-segment list: every segment the loader delivered, newest first,
// with its type (main or audio), level, number, source (HTTP, or which peer)
// and size, from swarmcast's segmentloaded events.
import { formatBytes } from "./chart.js";
import { levelName } from "./levels.js";
import { shortId } from "./engines.js";

const ROWS = 40;

export class SegmentList {
  #tbody;
  #hls;

  constructor(tbody, hls) {
    this.#tbody = tbody;
    this.#hls = hls;
  }

  /** Adds one segmentloaded detail: { type?, level, sn, bytes, source, peerId }. */
  add(d) {
    // Loaders that send no type deliver main segments only.
    const type = d.type ?? "main";
    const tr = document.createElement("tr");
    tr.className = d.source;
    const source = d.source === "p2p" ? `peer ${shortId(d.peerId)}` : "HTTP";
    for (const text of [d.sn, type, this.#level(type, d.level), source, formatBytes(d.bytes)]) {
      tr.insertCell().textContent = text;
    }
    tr.dataset.type = type;
    tr.dataset.level = d.level;
    tr.dataset.source = d.source;
    if (this.#tbody.querySelector("td.empty")) this.#tbody.replaceChildren();
    this.#tbody.prepend(tr);
    while (this.#tbody.children.length > ROWS) this.#tbody.lastChild.remove();
  }

  #level(type, index) {
    if (type === "main") return levelName(this.#hls.levels?.[index]);
    const track = type === "audio" ? this.#hls.audioTracks?.[index] : this.#hls.subtitleTracks?.[index];
    return track?.name ?? `${type} ${index}`;
  }
}
