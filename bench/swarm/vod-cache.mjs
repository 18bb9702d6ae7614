// Finished VOD test cards for the benchmarks, encoded once into the out
// folder and reused by later runs that ask for the same one.
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { makeVod } from "../../tests/support/servers.mjs";

/**
 * A VOD test card `seconds` long with `renditions` (e.g. ["360p"]), in the
 * folder `<name>-<renditions>-<seconds>s` of `outDir`; returns the folder.
 * Encoding takes minutes on a loaded machine, so the folder is kept.
 */
export async function cachedVod(outDir, name, { seconds, renditions }) {
  const dir = path.join(outDir, `${name}-${renditions.join("-")}-${seconds}s`);
  if (await stat(path.join(dir, "master.m3u8")).catch(() => null)) return dir;
  // Written aside and renamed, so an interrupted encode is never reused.
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await makeVod(partial, { seconds, extraArgs: ["--renditions", renditions.join(",")] });
  await rename(partial, dir);
  return dir;
}
