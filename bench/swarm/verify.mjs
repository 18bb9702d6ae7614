// Checks swarmcast's guarantee from outside, for every engine alike: each
// fragment hls.js received (its SHA-256, taken in the page at FRAG_LOADED)
// against the origin's bytes for the same URL and byte range, fetched
// directly from Node. Plain hls.js must come out clean: it checks the harness.
import { createHash } from "node:crypto";

const originDigests = new Map(); // "url start-end" -> SHA-256 hex; the VOD does not change

const keyOf = (f) => (f.range ? `${f.url} ${f.range[0]}-${f.range[1]}` : f.url);

async function originDigest(f) {
  const key = keyOf(f);
  if (!originDigests.has(key)) {
    // hls.js byte ranges end exclusive; HTTP ranges end inclusive.
    const headers = f.range ? { range: `bytes=${f.range[0]}-${f.range[1] - 1}` } : {};
    const res = await fetch(f.url, { headers });
    if (!res.ok) throw new Error(`origin answered ${res.status} for ${key}`);
    originDigests.set(key, createHash("sha256").update(new Uint8Array(await res.arrayBuffer())).digest("hex"));
  }
  return originDigests.get(key);
}

/** { fragmentsChecked, fragmentsDiffering, differing: the first 20, with their viewer } */
export async function checkFragments(viewers) {
  let checked = 0;
  const differing = [];
  for (const [viewer, v] of viewers.entries()) {
    for (const f of v.fragments) {
      checked++;
      if (f.sha256 !== (await originDigest(f))) differing.push({ viewer, ...f });
    }
  }
  return { fragmentsChecked: checked, fragmentsDiffering: differing.length, differing: differing.slice(0, 20) };
}
