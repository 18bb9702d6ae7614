// The ABR scenario's stream and viewers: a VOD test card with three
// renditions, every third viewer switching levels 0 → 2 → 1 → 0 … every 5 s
// with hls.currentLevel, the others pinned to one level each in turn. The
// same assignment for every engine.
import { cachedVod } from "./vod-cache.mjs";

export const RENDITIONS = ["180p", "360p", "540p"];
export const SWITCH_ORDER = [0, 2, 1];
export const SWITCH_EVERY_S = 5;
// hls.js sizes its forward buffer by bytes too, so at these bitrates it would
// fetch the whole test VOD in the first seconds. A 30 s cap (its time target)
// paces requests by playback, as on a VOD much longer than the run.
export const BUFFER_S = 30;

/** Viewer i's page parameters: its level plan (see page/levels.js), buffer cap, and fragment fingerprints on. */
export function viewerParams(i) {
  const plan =
    i % 3 === 2
      ? { levels: SWITCH_ORDER.join(","), every: String(SWITCH_EVERY_S) }
      : // The pinned viewers before i are i minus the switchers before it.
        { levels: String((i - Math.floor((i + 1) / 3)) % RENDITIONS.length) };
  return { ...plan, buffer: String(BUFFER_S), verify: "1" };
}

export const isSwitching = (params) => params.levels?.includes(",") ?? false;

/** The plans of viewers 1..n as text, e.g. "1: 0, 2: 1, 3: 0→2→1→…". */
export const describePlans = (n) =>
  Array.from({ length: n }, (_, i) => `${i + 1}: ${viewerParams(i).levels.replaceAll(",", "→")}${isSwitching(viewerParams(i)) ? "→…" : ""}`).join(", ");

/**
 * A VOD long enough that no viewer reaches its end within `seconds`, in a
 * folder of `outDir` kept for later runs of the same length; returns the folder.
 */
export const abrVod = (outDir, seconds) => cachedVod(outDir, "abr-vod", { seconds: seconds + BUFFER_S + 10, renditions: RENDITIONS });
