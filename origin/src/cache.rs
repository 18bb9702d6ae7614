//! Whole small files kept in memory, so a repeated request costs one `stat`
//! and no read or blocking-pool trip. A copy is served only while the file's
//! fingerprint (size, mtime, ctime, inode, device) from that `stat` still
//! matches, so a rewritten, replaced or deleted file is never served stale.
//!
//! A write that lands in the same timestamp tick as the read would leave the
//! fingerprint unchanged, so a file is only cached once its ctime is older
//! than the file system's timestamp granularity: any later write then moves
//! the ctime (which, unlike the mtime, user space cannot set back).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};

use crate::version::Version;

/// Age after which a fine-grained (sub-second) ctime is trusted: well above
/// the kernel's coarse clock tick (at most 10 ms).
pub const SETTLE_FINE: Duration = Duration::from_millis(50);
/// Age for whole-second timestamps (ext3, small ext4 inodes; FAT has 2 s).
const SETTLE_COARSE: Duration = Duration::from_secs(2);
/// Few shards: lookups are short, and each shard must fit the largest entry.
const SHARDS: usize = 4;
/// Largest entry, as a fraction of a shard, so one file cannot flush a shard.
const ENTRIES_PER_SHARD: u64 = 4;
/// Bookkeeping beyond the body, so tiny files are not free.
const ENTRY_OVERHEAD: u64 = 512;
/// For sizing the table: between a playlist and a segment.
const TYPICAL_ENTRY: u64 = 32 * 1024;

/// What a file looks like on disk, as far as a cheap `stat` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Fingerprint {
    pub fn of(meta: &Metadata) -> Self {
        Self {
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    /// Whether any later write is sure to change the ctime (see the module comment).
    pub fn settled(&self, now: SystemTime) -> bool {
        self.settles_in(now).is_zero()
    }

    /// How long until [`settled`](Self::settled) holds: zero once it does.
    pub fn settles_in(&self, now: SystemTime) -> Duration {
        let (secs, nanos) = self.ctime;
        let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
            return Duration::MAX;
        };
        let settle = if nanos == 0 {
            SETTLE_COARSE
        } else {
            SETTLE_FINE
        };
        let ctime = UNIX_EPOCH + Duration::new(secs, nanos);
        (ctime + settle).duration_since(now).unwrap_or_default()
    }
}

/// A whole file as it was read, with its response headers.
#[derive(Debug)]
pub struct Cached {
    pub fingerprint: Fingerprint,
    pub version: Arc<Version>,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
struct BodyWeight;

impl Weighter<PathBuf, Arc<Cached>> for BodyWeight {
    fn weight(&self, _: &PathBuf, entry: &Arc<Cached>) -> u64 {
        entry.body.len() as u64 + ENTRY_OVERHEAD
    }
}

pub struct FileCache {
    entries: Cache<PathBuf, Arc<Cached>, BodyWeight>,
    /// Larger files are read for each request instead.
    max_entry: u64,
}

impl FileCache {
    /// `None` for a capacity of 0 (caching off).
    pub fn new(capacity_bytes: u64) -> Option<Self> {
        if capacity_bytes == 0 {
            return None;
        }
        let options = OptionsBuilder::new()
            .shards(SHARDS)
            .weight_capacity(capacity_bytes)
            .estimated_items_capacity((capacity_bytes / TYPICAL_ENTRY).max(16) as usize)
            .build()
            .expect("all options set");
        let entries =
            Cache::with_options(options, BodyWeight, Default::default(), Default::default());
        let max_entry =
            (entries.shard_capacity() / ENTRIES_PER_SHARD).saturating_sub(ENTRY_OVERHEAD);
        Some(Self { entries, max_entry })
    }

    /// The cached copy of `path`, if it still matches the file's `meta`.
    pub fn get(&self, path: &Path, meta: &Metadata) -> Option<Arc<Cached>> {
        self.entries
            .get(path)
            .filter(|c| c.fingerprint == Fingerprint::of(meta))
    }

    /// Whether a file with this fingerprint, read after `now`, may be kept.
    pub fn admits(&self, fingerprint: &Fingerprint, now: SystemTime) -> bool {
        fingerprint.len <= self.max_entry && fingerprint.settled(now)
    }

    pub fn insert(&self, path: PathBuf, entry: Arc<Cached>) {
        self.entries.insert(path, entry);
    }

    /// Drops the copy of a file that is gone, to free its memory now.
    pub fn forget(&self, path: &Path) {
        self.entries.remove(path);
    }

    #[cfg(test)]
    fn weight(&self) -> u64 {
        self.entries.weight()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn entry(path: &Path) -> Arc<Cached> {
        let meta = std::fs::metadata(path).unwrap();
        Arc::new(Cached {
            fingerprint: Fingerprint::of(&meta),
            version: Arc::new(Version::new(path, meta.len(), meta.modified().unwrap())),
            body: std::fs::read(path).unwrap().into(),
        })
    }

    #[test]
    fn a_copy_is_served_only_while_the_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.m3u8");
        std::fs::write(&path, b"version 1").unwrap();
        let cache = FileCache::new(1 << 20).unwrap();
        cache.insert(path.clone(), entry(&path));
        assert!(cache
            .get(&path, &std::fs::metadata(&path).unwrap())
            .is_some());

        // Same length, and the mtime put back: the ctime still tells.
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(b"version 2").unwrap();
        f.set_modified(mtime).unwrap();
        assert!(cache
            .get(&path, &std::fs::metadata(&path).unwrap())
            .is_none());

        cache.insert(path.clone(), entry(&path));
        cache.forget(&path);
        assert!(cache
            .get(&path, &std::fs::metadata(&path).unwrap())
            .is_none());
    }

    #[test]
    fn a_replaced_file_has_a_new_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let (path, tmp) = (dir.path().join("a.ts"), dir.path().join("a.tmp"));
        std::fs::write(&path, b"one").unwrap();
        let before = Fingerprint::of(&std::fs::metadata(&path).unwrap());
        std::fs::write(&tmp, b"two").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_ne!(before, Fingerprint::of(&std::fs::metadata(&path).unwrap()));
    }

    #[test]
    fn fresh_files_and_large_files_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.ts");
        std::fs::write(&path, vec![0; 1000]).unwrap();
        let fp = Fingerprint::of(&std::fs::metadata(&path).unwrap());
        let cache = FileCache::new(1 << 20).unwrap();
        let now = SystemTime::now();
        assert!(!cache.admits(&fp, now));
        assert!(cache.admits(&fp, now + SETTLE_COARSE));

        let small = FileCache::new(512).unwrap();
        assert!(!small.admits(&fp, now + SETTLE_COARSE));
    }

    #[test]
    fn memory_stays_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(256 * 1024).unwrap();
        for i in 0..100 {
            let path = dir.path().join(format!("seg_{i}.ts"));
            std::fs::write(&path, vec![0; 10_000]).unwrap();
            cache.insert(path.clone(), entry(&path));
        }
        assert!(cache.weight() <= 256 * 1024, "{}", cache.weight());
        assert!(cache.weight() > 0);
    }
}
