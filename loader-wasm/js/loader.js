// The hls.js fragment loader (config.fLoader). hls.js builds one per fragment
// request; this class asks the swarm for media segments and fills hls.js's
// LoaderStats with real timings so its ABR estimates bandwidth as usual.
// Whatever the swarm does not answer itself (init segments, LL-HLS parts,
// fragments it cannot identify, anything that must come over HTTP) is loaded
// by the page's own loader class, exactly as hls.js would load it: its
// xhrSetup/fetchSetup, load policy, status codes, retries and progress apply.

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

/**
 * The loader class for `swarm`. `HttpLoader` is the class hls.js would use
 * for fragments without swarmcast (the page's own fLoader, else its loader).
 */
export function fragmentLoader(swarm, HttpLoader) {
  return class SwarmcastFragmentLoader {
    constructor(config) {
      this.config = config;
      this.stats = newStats();
      this.context = null;
      this.callbacks = null;
      this.loadConfig = null;
      this.http = null; // the page's loader, once the load went to HTTP
      this.request = null; // the swarm's handle for this load, while it has one
      this.timer = 0;
    }

    load(context, loadConfig, callbacks) {
      this.context = context;
      this.loadConfig = loadConfig;
      this.callbacks = callbacks;
      this.stats.loading.start = now();
      // The swarm sets this.request, and may answer before returning.
      if (!context.part && swarm.request(context, this)) {
        // Watchdog: the engine answers (bytes, or a hand-over to HTTP) well
        // within the time hls.js gives a server for its first byte. A load it
        // leaves unanswered that long goes to HTTP, and the swarm hears why.
        const bound = loadConfig.loadPolicy?.maxTimeToFirstByteMs || loadConfig.timeout;
        const request = this.request;
        if (bound && request)
          this.timer = setTimeout(() => (swarm.unanswered(request, bound), this.toHttp(false)), bound);
        return;
      }
      this.toHttp(false);
    }

    /**
     * Loads this fragment with the page's loader. With `share`, its bytes go
     * to the swarm as well (kept and offered to peers); otherwise the swarm
     * forgets the request.
     */
    toHttp(share) {
      clearTimeout(this.timer);
      const { context, loadConfig, callbacks, request } = this;
      if (!callbacks || this.http) return;
      if (!share && request) {
        this.request = null;
        swarm.release(request);
      }
      const onSuccess = (response, stats, ctx, details) => {
        if (this.request) swarm.loaded(this.request, response.data);
        this.request = null;
        callbacks.onSuccess(response, stats, ctx, details);
      };
      const ending = (name) =>
        callbacks[name] &&
        ((...args) => {
          this.#release();
          swarm.ended(context, name, args[0]);
          callbacks[name](...args);
        });
      const cb = {
        ...callbacks,
        onSuccess,
        onError: ending("onError"),
        onTimeout: ending("onTimeout"),
        onAbort: ending("onAbort"),
      };
      this.stats.loading.start = 0; // hls.js's loaders refuse stats already in use
      this.http = new HttpLoader(this.config);
      this.http.stats = this.stats; // so hls.js's frag.stats sees its timings
      swarm.prepareHttp(context).then(
        () => this.http?.load(context, loadConfig, cb),
        () => this.http?.load(context, loadConfig, cb),
      );
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
      const { callbacks, context } = this;
      this.#release();
      callbacks?.onSuccess({ url: context.url, data, code: 200 }, s, context, null);
    }

    abort() {
      if (this.http) return this.http.abort();
      if (!this.request) return;
      this.stats.aborted = true;
      const { callbacks, context } = this;
      this.#release();
      swarm.ended(context, "onAbort");
      callbacks?.onAbort?.(this.stats, context, null);
    }

    destroy() {
      this.http?.destroy();
      this.#release();
      this.http = this.context = this.callbacks = null;
    }

    // Ends the swarm's part in this load (once).
    #release() {
      clearTimeout(this.timer);
      const request = this.request;
      this.request = null;
      if (request) swarm.release(request);
    }
  };
}
