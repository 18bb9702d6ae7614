// The hls.js fragment loader (config.fLoader). hls.js builds one per fragment
// request; this class hands media segments to the swarm and fills hls.js's
// LoaderStats with real timings so its ABR estimates bandwidth as usual.
// Init segments, LL-HLS parts and everything while the swarm is unusable go
// through hls.js's own loader, so playback never depends on P2P.

const now = () => performance.now();

/** A fresh hls.js LoadStats object: hls.js reads it right after construction. */
const newStats = () => ({
  aborted: false,
  loaded: 0,
  retry: 0,
  total: 0,
  chunkCount: 0,
  bwEstimate: 0,
  loading: { start: 0, first: 0, end: 0 },
  parsing: { start: 0, end: 0 },
  buffering: { start: 0, first: 0, end: 0 },
});

/** The loader class for `swarm`, falling back to `HttpLoader` (hls.js's config.loader). */
export function fragmentLoader(swarm, HttpLoader) {
  return class SwarmcastFragmentLoader {
    constructor(config) {
      this.config = config;
      this.stats = newStats();
      this.context = null;
      this.callbacks = null;
      this.http = null; // the fallback loader, when used
      this.request = null; // the swarm's handle for this load, when used
      this.timer = 0;
    }

    load(context, loadConfig, callbacks) {
      this.context = context;
      this.callbacks = callbacks;
      this.stats.loading.start = now();
      // The swarm sets this.request, and may answer before returning.
      if (!context.part && swarm.request(context, this)) {
        const timeout = loadConfig.timeout || loadConfig.loadPolicy?.maxLoadTimeMs;
        if (timeout && this.request) {
          this.timer = setTimeout(() => this.#finish((cb) => cb.onTimeout(this.stats, context, null)), timeout);
        }
        return;
      }
      this.stats.loading.start = 0; // hls.js's loaders refuse stats already in use
      this.http = new HttpLoader(this.config);
      this.http.stats = this.stats; // so hls.js's frag.stats sees its timings
      this.http.load(context, loadConfig, callbacks);
    }

    // Called by the swarm with the whole segment and the [start, firstByte,
    // end] times of the transfer that fetched it, shifted to end now (same
    // clock as performance.now()). A transfer that began before hls.js asked
    // moves loading.start back, so hls.js's bandwidth estimate sees the real
    // transfer time rather than an instant load.
    success(bytes, [start, first, end]) {
      const s = this.stats;
      s.loading.start = Math.min(s.loading.start, start);
      s.loading.first = Math.max(s.loading.start, first);
      s.loading.end = Math.max(s.loading.first, end);
      s.loaded = s.total = bytes.byteLength;
      const data =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
      this.#finish((cb) => cb.onSuccess({ url: this.context.url, data, code: 200 }, s, this.context, null));
    }

    // Called by the swarm when neither peers nor HTTP could deliver.
    failure(code, text) {
      this.#finish((cb) => cb.onError({ code, text }, this.context, null, this.stats));
    }

    abort() {
      if (this.http) return this.http.abort();
      if (!this.request) return;
      this.stats.aborted = true;
      this.#finish((cb) => cb.onAbort?.(this.stats, this.context, null));
    }

    destroy() {
      this.http?.destroy();
      this.#finish(null);
      this.http = this.context = null;
    }

    // Ends the swarm request (once) and runs one hls.js callback.
    #finish(call) {
      clearTimeout(this.timer);
      const { request, callbacks } = this;
      this.request = this.callbacks = null;
      if (!request) return;
      swarm.release(request);
      if (call && callbacks) call(callbacks);
    }
  };
}
