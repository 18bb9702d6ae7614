// The denominator of native.mjs's origin amplification: the bytes of the
// segments that were new to the swarm in the measured window. Both kinds
// keep the segments in the order they became new, so `mark()` taken at the
// window's start and `bytesSince(mark)` at its end give the window's.
// `ownBytes` are segment bytes the benchmark itself took from the origin,
// which the origin's count must leave out.
import { mediaPlaylistOf } from "../../tests/support/servers.mjs";

/** uri -> bytes, in insertion order, with the window arithmetic on top. */
class FirstSeen {
  sizes = new Map();
  ownBytes = 0;

  /** Brings the record up to date (the VOD's access log arrives by itself). */
  async poll() {}

  /** Stops recording. */
  close() {}

  mark() {
    return this.sizes.size;
  }

  /** Bytes of the segments first seen after `mark`. */
  bytesSince(mark) {
    return [...this.sizes.values()].slice(mark).reduce((a, b) => a + b, 0);
  }
}

/**
 * Live: a segment is new when the stream's (first) media playlist first
 * lists it, whoever fetches it. Each is fetched once here to size it.
 */
export class ListedSegments extends FirstSeen {
  constructor(master) {
    super();
    this.master = master;
    this.media = null;
  }

  async poll() {
    this.media ??= await mediaPlaylistOf(this.master);
    const text = await (await fetch(this.media)).text();
    for (const uri of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      const url = new URL(uri, this.media).href;
      if (this.sizes.has(url)) continue;
      const res = await fetch(url);
      const bytes = res.ok ? (await res.arrayBuffer()).byteLength : 0;
      this.ownBytes += bytes;
      this.sizes.set(url, bytes);
    }
  }
}

/** One line of the origin's access log (tracing target `access`). */
const ACCESS = / access: .* path="([^"]+)" status=(\d+) bytes=(\d+)/;

/**
 * VOD: every segment is listed from the start, so a segment is new when the
 * origin first serves it in full (the swarm's furthest viewer reached it),
 * read from the origin's access log on its stderr. Only paths under `prefix`
 * that are not playlists count.
 */
export class ServedSegments extends FirstSeen {
  constructor(originChild, prefix) {
    super();
    let partial = "";
    this.stream = originChild.stderr;
    this.listener = (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop();
      for (const line of lines) this.#record(line);
    };
    this.stream.on("data", this.listener);
    this.prefix = prefix;
  }

  close() {
    this.stream.off("data", this.listener);
  }

  #record(line) {
    const m = ACCESS.exec(line);
    if (!m) return;
    const [, path, status, bytes] = m;
    if (status !== "200" || !path.startsWith(this.prefix) || path.endsWith(".m3u8") || this.sizes.has(path)) return;
    this.sizes.set(path, Number(bytes));
  }
}
