// The level selector: "Auto" (hls.js's ABR picks) or one fixed level, set
// through hls.currentLevel. While on auto, the first option names the level
// ABR is playing, so a viewer sees switches happen.

/** How a level is shown: its height, or its bitrate for audio-only levels. */
export const levelName = (level) =>
  level?.height ? `${level.height}p` : level ? `${Math.round(level.bitrate / 1000)} kbps` : "?";

/** Fills `select` with hls.js's levels once known, and applies the choice. */
export function levelSelector(select, Hls, hls, log) {
  const auto = new Option("Auto", "-1");
  const fill = (levels) => {
    const options = levels.map((l, i) => new Option(`${levelName(l)} · ${Math.round(l.bitrate / 1000)} kbps`, String(i)));
    select.replaceChildren(auto, ...options);
    select.value = hls.autoLevelEnabled ? "-1" : String(hls.currentLevel);
    select.disabled = false;
  };
  if (hls.levels?.length) fill(hls.levels);
  hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => fill(d.levels));
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, { level }) => {
    auto.textContent = `Auto (${levelName(hls.levels[level])})`;
  });
  select.addEventListener("change", () => {
    const level = Number(select.value);
    // currentLevel switches at once: the buffer ahead is dropped and refetched.
    hls.currentLevel = level;
    log(level < 0 ? "level: auto" : `level: ${levelName(hls.levels[level])}`);
  });
}
