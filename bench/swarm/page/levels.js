// The ABR scenario's level plan for one viewer: `?levels=1` pins level 1;
// `?levels=0,2,1&every=5` switches 0 → 2 → 1 → 0 … every 5 s. Switches use
// hls.currentLevel, which drops the buffer ahead and refetches it at the new
// level, the hardest case for a P2P loader.
export function followLevelPlan(Hls, hls, levels, everyS, log) {
  let i = 0;
  const next = () => {
    const level = levels[i++ % levels.length];
    hls.currentLevel = level;
    log(`level ${level}`);
  };
  hls.once(Hls.Events.MANIFEST_PARSED, () => {
    next();
    if (levels.length > 1) setInterval(next, everyS * 1000);
  });
}
