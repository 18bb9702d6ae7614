// The engine dies mid-playback (a wasm trap, e.g. out of memory), or stops
// answering without trapping (a logic bug): every fragment hls.js was
// waiting for is completed by hls.js's own loader within 1 s (of the trap,
// or of the watchdog's bound), an "error" event says why, later fragments go
// straight to HTTP, and playback goes on. The trap is made from outside the package: the page wraps
// the wasm instance's exports (before swarmcast loads) so that, once armed,
// every call into the engine throws the way a trapped instance does. It is
// armed right after hls.js handed a fragment to swarmcast and the engine kept
// it (waiting on a peer), so at least one fragment is pending in the engine.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { compareWithOrigin, OriginDigests } from "../support/integrity.mjs";

let stack, browser;
before(async () => {
  stack = await startVodStack({ seconds: 60, extraArgs: ["--renditions", "360p"] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Runs in the page before any of its scripts: every function the wasm
// exports throws a WebAssembly.RuntimeError once `window.trap.at` is set.
function wrapWasmExports() {
  window.trap = { at: 0, thrown: 0 };
  const poisoned = (instance) => {
    const exports = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      exports[name] =
        typeof value !== "function"
          ? value
          : (...args) => {
              if (window.trap.at) {
                window.trap.thrown++;
                throw new WebAssembly.RuntimeError("unreachable");
              }
              return value(...args);
            };
    }
    return { exports };
  };
  // The package compiles its wasm, then instantiates it with `new WebAssembly.Instance`.
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    return poisoned(new Instance(module, imports));
  };
}

// Runs in the page once it plays: records hls.js's fragment loads, and arms
// the trap on the first fragment the engine keeps waiting for a peer.
function armOnPendingFragment() {
  const { hls, p2p } = window.player;
  const loads = (window.loads = new Map()); // "sn" -> { start, end }
  // hls.js reports FRAG_LOADING just after it called the loader: a load the
  // trap was armed on is already recorded then.
  hls.on("hlsFragLoading", (_, { frag }) => {
    if (loads.get(frag.sn)?.end !== 0) loads.set(frag.sn, { start: performance.now(), end: 0 });
  });
  hls.on("hlsFragLoaded", (_, { frag }) => {
    const l = loads.get(frag.sn);
    if (l) l.end = performance.now();
  });
  const request = p2p.request.bind(p2p);
  p2p.request = (context, loader) => {
    const held = request(context, loader);
    if (held && !window.trap.at && loader.request && !loader.http) {
      window.trap.at = performance.now();
      window.trap.sn = context.frag.sn;
      loads.set(context.frag.sn, { start: window.trap.at, end: 0 });
    }
    return held;
  };
}

test("an engine that traps mid-playback hands every pending fragment to hls.js within 1 s", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const src = `${origin.url}/master.m3u8`;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const seeder = await openPlayer(browser.browser, origin.url, { src, opts });
  await seeder.page.waitForFunction(() => window.player.fragsLoaded >= 12, null, { timeout: 30_000, polling: 250 });
  // A short buffer and prefetch window: the viewer asks for fragments as it
  // plays, and the engine fetches each from the seeder when asked.
  const viewer = await openPlayer(browser.browser, origin.url, {
    src,
    opts: { ...opts, p2pWindowSeconds: 1 },
    hlsConfig: { maxBufferLength: 6, maxMaxBufferLength: 6 },
    beforeLoad: wrapWasmExports,
    record: true,
  });
  await viewer.page.waitForFunction(() => window.player.events.some((e) => e.type === "peerconnect"), null, {
    timeout: 30_000,
    polling: 250,
  });
  await viewer.page.evaluate(armOnPendingFragment);
  await viewer.page.waitForFunction(() => window.trap.at > 0, null, { timeout: 30_000, polling: 100 });
  await viewer.waitForProgress(5, 30_000);

  const r = await viewer.page.evaluate(() => {
    const at = window.trap.at;
    const pending = [...window.loads].filter(([, l]) => l.start <= at && (!l.end || l.end > at));
    const errors = window.player.events.filter((e) => e.type === "error");
    const later = window.player.events.filter((e) => e.type === "segmentloaded" && e.t > at + 1000);
    return {
      trappedOn: window.trap.sn,
      pending: pending.map(([sn, l]) => ({ sn, afterTrapMs: l.end ? l.end - at : null })),
      errors: errors.map((e) => ({ ...e.detail, afterTrapMs: e.t - at })),
      loadedAfter: [...window.loads.values()].filter((l) => l.start > at + 1000 && l.end).length,
      swarmLoadsAfter: later.length,
      thrown: window.trap.thrown,
    };
  });
  const s = await viewer.snapshot();
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.pending.some((p) => p.sn === r.trappedOn), "the fragment the engine held was pending");
  for (const p of r.pending) {
    assert.ok(p.afterTrapMs !== null && p.afterTrapMs <= 1000, `fragment ${p.sn} finished ${p.afterTrapMs} ms after the trap`);
  }
  // Whichever call met the dead engine first (a load, a playlist, stats()) names itself.
  const engineError = r.errors[0];
  assert.ok(engineError && engineError.afterTrapMs <= 1000, "an error event says the engine failed");
  assert.match(engineError.message, /unreachable/);
  assert.ok(r.loadedAfter > 0, "hls.js went on loading fragments");
  assert.equal(r.swarmLoadsAfter, 0, "later fragments go straight to hls.js's loader");
  assert.deepEqual(s.fatal, [], "no fatal hls.js error");
  // And every fragment hls.js got is the origin's.
  const { differences } = await compareWithOrigin(await viewer.recorded(), new OriginDigests());
  assert.deepEqual(differences, []);
  await Promise.all([seeder.close(), viewer.close()]);
});

// Runs in the page before any of its scripts: once `window.mute.at` is set,
// the engine's answers to hls.js's requests (bytes, or "load it over HTTP")
// never reach the glue. The engine itself runs on, without trapping. They
// are its calls of the glue's event handler (the one import taking 9
// arguments, the handler first) with event kind 0 or 1 (shell/events.rs).
function muteEngineAnswers() {
  window.mute = { at: 0, dropped: 0 };
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const wrapped = {};
    for (const [module, functions] of Object.entries(imports)) {
      wrapped[module] = {};
      for (const [name, f] of Object.entries(functions)) {
        wrapped[module][name] =
          typeof f !== "function"
            ? f
            : (...args) => {
                const answer = args.length === 9 && typeof args[0] === "function" && args[2] <= 1;
                if (window.mute.at && answer) return void window.mute.dropped++;
                return f(...args);
              };
      }
    }
    return new Instance(module, wrapped);
  };
}

// Runs in the page once it plays: records hls.js's fragment loads and mutes the engine.
function recordLoadsAndMute() {
  const { hls } = window.player;
  const loads = (window.loads = new Map()); // "sn" -> { start, end }
  hls.on("hlsFragLoading", (_, { frag }) => loads.set(frag.sn, { start: performance.now(), end: 0 }));
  hls.on("hlsFragLoaded", (_, { frag }) => {
    const l = loads.get(frag.sn);
    if (l) l.end = performance.now();
  });
  window.mute.at = performance.now();
}

test("an engine that stops answering is given up: its loads finish over HTTP within 1 s of the watchdog's bound", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const bound = 3_000;
  const policy = { maxTimeToFirstByteMs: bound, maxLoadTimeMs: 60_000 };
  const retry = { maxNumRetry: 2, retryDelayMs: 500, maxRetryDelayMs: 1_000 };
  const viewer = await openPlayer(browser.browser, origin.url, {
    src: `${origin.url}/master.m3u8`,
    opts: { trackers: [tracker.url], rtcConfig: { iceServers: [] } },
    hlsConfig: {
      maxBufferLength: 8,
      maxMaxBufferLength: 8,
      fragLoadPolicy: { default: { ...policy, timeoutRetry: retry, errorRetry: retry } },
    },
    beforeLoad: muteEngineAnswers,
    record: true,
  });
  // Muted once past the engine's wait for its first peers (3 s from joining
  // the swarm): a request it still held for them would be in flight at the
  // mute, unrecorded.
  await viewer.waitForProgress(4, 30_000);
  await viewer.page.evaluate(recordLoadsAndMute);
  await viewer.page.waitForFunction(() => window.player.events.some((e) => /stopped answering/.test(e.detail?.message)), null, {
    timeout: 30_000,
    polling: 100,
  });
  await viewer.waitForProgress(bound / 1000 + 6, 30_000);

  const r = await viewer.page.evaluate(() => {
    const at = window.mute.at;
    const errors = window.player.events.filter((e) => e.type === "error").map((e) => ({ ...e.detail, afterMuteMs: e.t - at }));
    const gaveUp = errors.find((e) => /stopped answering/.test(e.message))?.afterMuteMs;
    const later = window.player.events.filter((e) => e.type === "segmentloaded" && e.t - at > gaveUp + 100);
    return {
      loads: [...window.loads].map(([sn, l]) => ({ sn, afterMuteMs: l.start - at, tookMs: l.end ? l.end - l.start : null })),
      errors,
      gaveUp,
      swarmLoadsAfter: later.length,
      dropped: window.mute.dropped,
    };
  });
  const s = await viewer.snapshot();
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.dropped > 0, "the engine's answers were held back");
  const held = r.loads.filter((l) => l.afterMuteMs < r.gaveUp);
  assert.ok(held.length >= 2, "fragments waited on the silent engine");
  for (const l of held) {
    assert.ok(l.tookMs !== null && l.tookMs <= bound + 1000, `fragment ${l.sn} took ${l.tookMs} ms (bound ${bound} ms)`);
  }
  const unanswered = r.errors.filter((e) => e.where === "engine" && /no answer for .* in 3000 ms/.test(e.message));
  assert.ok(
    unanswered.length >= 1 && unanswered[0].afterMuteMs <= held[0].afterMuteMs + bound + 1000,
    "an error event says which load went unanswered, when it went to HTTP",
  );
  const after = r.loads.filter((l) => l.afterMuteMs > r.gaveUp);
  assert.ok(after.length > 0 && after.every((l) => l.tookMs !== null && l.tookMs < bound), "later fragments load over HTTP at once");
  assert.equal(r.swarmLoadsAfter, 0, "later fragments go straight to hls.js's loader");
  assert.deepEqual(s.fatal, [], "no fatal hls.js error");
  const { differences } = await compareWithOrigin(await viewer.recorded(), new OriginDigests());
  assert.deepEqual(differences, []);
  await viewer.close();
});
