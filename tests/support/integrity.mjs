// Checks that the bytes hls.js received are the origin's: each fragment a
// player page recorded (see `record` in player.mjs) against a direct fetch
// from Node, without swarmcast, of the same URL and byte range.
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Digests of the origin's bytes, each URL and range fetched once. */
export class OriginDigests {
  #cache = new Map();
  /** Bytes fetched from the origin so far (a benchmark takes them out of the origin's count). */
  fetchedBytes = 0;

  /** `{ sha256, bytes }` of `url` (only bytes [start, end) when `range`), or `{ error }`. */
  get(url, range) {
    const key = range ? `${url} ${range[0]}-${range[1]}` : url;
    if (!this.#cache.has(key)) {
      this.#cache.set(
        key,
        fetchDigest(url, range).then((d) => {
          this.fetchedBytes += d.bytes ?? 0;
          return d;
        }),
      );
    }
    return this.#cache.get(key);
  }
}

async function fetchDigest(url, range) {
  // HTTP ranges are inclusive; recorded ranges end one past the last byte.
  const headers = range ? { Range: `bytes=${range[0]}-${range[1] - 1}` } : {};
  try {
    const res = await fetch(url, { headers });
    if (res.status !== (range ? 206 : 200)) return { error: `HTTP ${res.status}` };
    const bytes = Buffer.from(await res.arrayBuffer());
    return { sha256: sha256(bytes), bytes: bytes.length };
  } catch (e) {
    return { error: String(e) };
  }
}

/**
 * Compares recorded fragments with the origin. Returns the ones whose bytes
 * differ (with what was expected and, when `siblings` names the rendition
 * folders, whose bytes they were instead) and the ones the origin no longer
 * serves.
 */
export async function compareWithOrigin(records, origin, siblings = []) {
  const differences = [];
  const unverifiable = [];
  for (const r of records) {
    const want = await origin.get(r.url, r.range);
    if (want.error) unverifiable.push({ ...r, error: want.error });
    else if (want.sha256 !== r.sha256) {
      differences.push({ ...r, expected: want, actually: await whoseBytes(r, origin, siblings) });
    }
  }
  return { differences, unverifiable };
}

/** The sibling folder whose file of the same name (and range) has these bytes, if any. */
async function whoseBytes(record, origin, siblings) {
  const url = new URL(record.url);
  const [name, folder] = url.pathname.split("/").reverse();
  for (const other of siblings.filter((s) => s !== folder)) {
    const candidate = new URL(`../${other}/${name}`, url).href;
    if ((await origin.get(candidate, record.range)).sha256 === record.sha256) return other;
  }
  return null;
}

/**
 * A page's recorded fragments, compared with the origin as they arrive:
 * call `check()` every few seconds while a live stream plays, since its
 * segments leave the origin with the playlist window. `recorded(from)` returns
 * the fragments recorded from index `from` on (see player.mjs).
 */
export class FragmentCheck {
  records = [];
  differences = [];
  unverifiable = [];

  constructor(recorded, digests = new OriginDigests()) {
    this.recorded = recorded;
    this.digests = digests;
  }

  async check() {
    const fresh = await this.recorded(this.records.length);
    this.records.push(...fresh);
    const { differences, unverifiable } = await compareWithOrigin(fresh, this.digests);
    this.differences.push(...differences);
    this.unverifiable.push(...unverifiable);
  }

  /**
   * Checks every `everyMs` until `condition()` holds (or `timeoutMs` has
   * passed), then once more `everyMs` later, so that the fragments which made
   * it hold have reached hls.js and are checked too.
   */
  async checkUntil(condition, timeoutMs, everyMs = 3000) {
    for (const end = Date.now() + timeoutMs; !(await condition()) && Date.now() < end; await sleep(everyMs)) {
      await this.check();
    }
    await sleep(everyMs);
    await this.check();
  }

  /** What is wrong, as sentences; empty when every fragment matched. */
  problems() {
    const n = this.records.length;
    return [
      ...(n === 0 ? ["no fragments recorded"] : []),
      ...(this.differences.length ? [`${this.differences.length} of ${n} fragments differ from the origin's bytes`] : []),
      ...(this.unverifiable.length ? [`${this.unverifiable.length} fragments not checked (origin: ${this.unverifiable[0].error})`] : []),
    ];
  }
}
