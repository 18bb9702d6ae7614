// The ABR scenario's stream and viewers: a VOD test card with three
// renditions, every third viewer switching levels 0 → 2 → 1 → 0 … every 5 s
// with hls.currentLevel, the others pinned to one level each in turn. The
// same assignment for every engine.
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { makeVod } from "../../tests/support/servers.mjs";

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
 * folder of `outDir`; returns the folder. Encoding takes minutes on a loaded
 * machine, so the folder is kept and reused by later runs of the same length.
 */
export async function abrVod(outDir, seconds) {
  const vodSeconds = seconds + BUFFER_S + 10;
  const dir = path.join(outDir, `abr-vod-${RENDITIONS.join("-")}-${vodSeconds}s`);
  if (await stat(path.join(dir, "master.m3u8")).catch(() => null)) return dir;
  // Written aside and renamed, so an interrupted encode is never reused.
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await makeVod(partial, { seconds: vodSeconds, extraArgs: ["--renditions", RENDITIONS.join(",")] });
  await rename(partial, dir);
  return dir;
}
