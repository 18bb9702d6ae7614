//! Media playlists served with digests, for mounts that publish them. A
//! built playlist is kept with the fingerprints of the playlist file and of
//! every file its digests came from: a repeated request costs one `stat` per
//! file, with no parsing or hashing. Any change rebuilds it, and a rebuild
//! hashes only files (or ranges) not hashed before in their current version,
//! so a live playlist that gains a segment costs one segment's hashing.
//!
//! A long playlist (a VOD of thousands of segments) would cost thousands of
//! `stat`s per request, so its files are rechecked at most once per
//! [`RECHECK`] (the playlist file itself still on every request): a segment
//! rewritten under an unchanged VOD playlist gets its new digest within that
//! time. Players do not reload VOD playlists anyway, so a client that already
//! has the playlist keeps the old digest whatever the origin does.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use quick_cache::sync::Cache;
use warp::http::HeaderMap;

use crate::annotate::{annotate, Dependency};
use crate::cache::{Cached, Fingerprint, SETTLE_FINE};
use crate::digest_store::DigestStore;
use crate::files::{answer, Files, Loaded};
use crate::media::Kind;
use crate::metrics::DigestCounters;
use crate::mounts::Mounts;
use crate::version::Version;

/// Playlists kept as built.
const PLAYLISTS: usize = 4096;
/// Up to this many files are checked on every request (on the async thread).
const STRICT_FILES: usize = 64;
/// How often the files of a longer playlist are checked (on the blocking pool).
const RECHECK: Duration = Duration::from_secs(1);

/// A playlist as served, and what it was built from.
struct Published {
    source: Fingerprint,
    dependencies: Arc<[Dependency]>,
    /// When the dependencies were last found unchanged (or a check began).
    checked: Mutex<Instant>,
    version: Arc<Version>,
    body: Bytes,
}

impl Published {
    /// Whether the files it was built from are (as far as is checked) unchanged.
    async fn current(&self) -> bool {
        if self.dependencies.len() <= STRICT_FILES {
            return self.dependencies.iter().all(is_current);
        }
        {
            let mut checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
            if checked.elapsed() < RECHECK {
                return true;
            }
            // Claimed before checking, so concurrent requests do not all check.
            *checked = Instant::now();
        }
        let dependencies = self.dependencies.clone();
        tokio::task::spawn_blocking(move || dependencies.iter().all(is_current))
            .await
            .unwrap_or(false)
    }
}

pub struct Publisher {
    store: Arc<DigestStore>,
    mounts: Arc<Mounts>,
    /// By URL path: the digests depend on where the playlist is served.
    playlists: Cache<String, Arc<Published>>,
    counters: DigestCounters,
}

impl Publisher {
    pub fn new(mounts: Arc<Mounts>, counters: DigestCounters) -> Self {
        Self {
            store: Arc::new(DigestStore::new(counters.hashed_bytes.clone())),
            mounts,
            playlists: Cache::new(PLAYLISTS),
            counters,
        }
    }

    /// The file at `path`, served at `url_path`; a media playlist gets its digests.
    pub async fn load(
        &self,
        files: &Files,
        url_path: &str,
        path: &Path,
        headers: &HeaderMap,
        with_body: bool,
    ) -> std::io::Result<Option<Loaded>> {
        let Some(whole) = files.whole(path).await? else {
            return Ok(None);
        };
        let raw = whole.file;
        if raw.version.kind != Kind::Playlist {
            return Ok(Some(answer(&raw.version, &raw.body, headers, with_body)));
        }
        if let Some(kept) = self.playlists.get(url_path) {
            if kept.source == raw.fingerprint && kept.current().await {
                self.counters.kept.inc();
                return Ok(Some(answer(&kept.version, &kept.body, headers, with_body)));
            }
        }
        self.counters.rebuilt.inc();
        let (store, mounts, at) = (
            self.store.clone(),
            self.mounts.clone(),
            url_path.to_string(),
        );
        let source = raw.clone();
        let (published, settled) =
            tokio::task::spawn_blocking(move || build(&store, &mounts, &at, &source))
                .await
                .map_err(std::io::Error::other)?;
        let loaded = answer(&published.version, &published.body, headers, with_body);
        // Only a settled playlist's fingerprint is sure to change with its content.
        if whole.kept && settled {
            self.playlists
                .insert(url_path.to_string(), Arc::new(published));
        }
        Ok(Some(loaded))
    }
}

/// The playlist with digests, and whether it may be kept as it is.
fn build(store: &DigestStore, mounts: &Mounts, url_path: &str, raw: &Cached) -> (Published, bool) {
    let as_is = || Published {
        source: raw.fingerprint,
        dependencies: Arc::new([]),
        checked: Mutex::new(Instant::now()),
        version: raw.version.clone(),
        body: raw.body.clone(),
    };
    let Ok(text) = std::str::from_utf8(&raw.body) else {
        return (as_is(), true);
    };
    let mut annotated = annotate(store, mounts, url_path, text);
    // A live packager writes a segment and at once the playlist that lists
    // it: asked for then, the playlist would lack the newest segment's
    // digest, the segment viewers share first. When that is a wait of at
    // most the fine settle time, wait once (never for whole-second
    // timestamps, a file that changed while read, or an unreadable one).
    let wait = annotated.too_fresh_for;
    if !wait.is_zero() && wait <= SETTLE_FINE {
        std::thread::sleep(wait);
        annotated = annotate(store, mounts, url_path, text);
    }
    let Some(body) = annotated.body else {
        return (as_is(), true);
    };
    let source_modified = SystemTime::from(raw.version.validators.last_modified);
    let modified = annotated
        .modified
        .map_or(source_modified, |m| m.max(source_modified));
    let path = Path::new(url_path);
    let published = Published {
        source: raw.fingerprint,
        dependencies: annotated.dependencies.into(),
        checked: Mutex::new(Instant::now()),
        version: Arc::new(Version::of_content(path, body.as_bytes(), modified)),
        body: body.into(),
    };
    (published, annotated.settled)
}

fn is_current(d: &Dependency) -> bool {
    match std::fs::metadata(&d.path) {
        Ok(meta) => d.fingerprint == Some(Fingerprint::of(&meta)),
        Err(e) if e.kind() == ErrorKind::NotFound => d.fingerprint.is_none(),
        Err(_) => false,
    }
}
