//! Digests computed once per file version. A digest is kept with the
//! fingerprint (size, mtime, ctime, inode, device) of the version it was
//! computed from, so a rewritten or replaced file is hashed again, and a
//! digest is only ever given for bytes that were stable while they were
//! read: a file changed within the settle time (possibly still being
//! written) or during the read gets none, and is looked at again next time.

use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use quick_cache::sync::Cache;

use crate::cache::Fingerprint;
use crate::digest::hash::hash_ranges;

/// Files whose digests are kept; a live window or a VOD library's segments.
const FILES: usize = 64 * 1024;

/// The digests known for one version of a file, by byte range.
#[derive(Debug)]
struct Known {
    fingerprint: Fingerprint,
    digests: HashMap<Range<u64>, [u8; 32]>,
}

/// What one file looked like, and the digests it gave.
#[derive(Debug)]
pub struct Lookup {
    /// `None` if there is no such file.
    pub fingerprint: Option<Fingerprint>,
    pub modified: Option<SystemTime>,
    /// Per wanted range, in order; `None` where no digest may be given.
    pub digests: Vec<Option<[u8; 32]>>,
    /// False if the answer may change without the fingerprint changing
    /// (the file was too fresh, or changed while it was read).
    pub settled: bool,
    /// How long until a file too fresh to hash is old enough (zero if it
    /// was not too fresh).
    pub too_fresh_for: Duration,
}

pub struct DigestStore {
    known: Cache<PathBuf, Arc<Known>>,
    hashed_bytes: Counter,
}

impl DigestStore {
    /// `hashed_bytes` counts every byte read to compute a digest.
    pub fn new(hashed_bytes: Counter) -> Self {
        Self {
            known: Cache::new(FILES),
            hashed_bytes,
        }
    }

    /// Digests of `wanted` ranges (`None`: the whole file) of `path`, hashing
    /// only what is not known for the file's current version. Blocking.
    pub fn lookup(&self, path: &Path, wanted: &[Option<Range<u64>>]) -> std::io::Result<Lookup> {
        let none = |fingerprint, modified, settled| Lookup {
            fingerprint,
            modified,
            digests: vec![None; wanted.len()],
            settled,
            too_fresh_for: Duration::ZERO,
        };
        // Before the stat, so the settle rule holds for writes during the read.
        let now = SystemTime::now();
        let (mut file, meta) = match File::open(path).and_then(|f| Ok((f.metadata()?, f))) {
            Ok((meta, file)) => (file, meta),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                self.known.remove(path);
                return Ok(none(None, None, true));
            }
            Err(e) => return Err(e),
        };
        let fingerprint = Fingerprint::of(&meta);
        let modified = meta.modified().ok();
        if !meta.is_file() {
            return Ok(none(Some(fingerprint), modified, true));
        }
        let too_fresh_for = fingerprint.settles_in(now);
        if !too_fresh_for.is_zero() {
            return Ok(Lookup {
                too_fresh_for,
                ..none(Some(fingerprint), modified, false)
            });
        }
        let len = meta.len();
        let ranges: Vec<Option<Range<u64>>> = wanted
            .iter()
            .map(|w| w.clone().unwrap_or(0..len))
            .map(|r| (r.start <= r.end && r.end <= len).then_some(r))
            .collect();

        let known = self
            .known
            .get(path)
            .filter(|k| k.fingerprint == fingerprint);
        let mut missing: Vec<Range<u64>> = ranges
            .iter()
            .flatten()
            .filter(|r| known.as_ref().is_none_or(|k| !k.digests.contains_key(r)))
            .cloned()
            .collect();
        missing.sort_by_key(|r| (r.start, r.end));
        missing.dedup();
        let known = match (known, missing.is_empty()) {
            (Some(known), true) => known,
            (None, true) => return Ok(none(Some(fingerprint), modified, true)),
            (known, false) => {
                let hashed = hash_ranges(&mut file, &missing)?;
                self.hashed_bytes
                    .inc_by(missing.iter().map(|r| r.end - r.start).sum());
                // A write during the read, or a rename over the path, shows here.
                let now = std::fs::metadata(path).map(|m| Fingerprint::of(&m));
                if now.ok() != Some(fingerprint) {
                    return Ok(none(Some(fingerprint), modified, false));
                }
                let mut digests = known.map(|k| k.digests.clone()).unwrap_or_default();
                digests.extend(missing.into_iter().zip(hashed));
                let known = Arc::new(Known {
                    fingerprint,
                    digests,
                });
                self.known.insert(path.to_path_buf(), known.clone());
                known
            }
        };
        Ok(Lookup {
            fingerprint: Some(fingerprint),
            modified,
            digests: ranges
                .iter()
                .map(|r| r.as_ref().and_then(|r| known.digests.get(r).copied()))
                .collect(),
            settled: true,
            too_fresh_for: Duration::ZERO,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sha2::{Digest, Sha256};

    use super::*;

    fn sha(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    /// Past the settle time of a fine-grained file system.
    fn settle() {
        std::thread::sleep(Duration::from_millis(60));
    }

    #[test]
    fn each_version_is_hashed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.ts");
        std::fs::write(&path, b"version one").unwrap();
        settle();
        let counter = Counter::default();
        let store = DigestStore::new(counter.clone());
        for _ in 0..3 {
            let l = store.lookup(&path, &[None, Some(0..7)]).unwrap();
            assert_eq!(
                l.digests,
                [Some(sha(b"version one")), Some(sha(b"version"))]
            );
            assert!(l.settled);
        }
        assert_eq!(counter.get(), 11 + 7, "hashed once");

        std::fs::write(&path, b"version two").unwrap();
        let l = store.lookup(&path, &[None]).unwrap();
        assert_eq!(l.digests, [None], "too fresh to trust");
        assert!(!l.settled);
        settle();
        let l = store.lookup(&path, &[None]).unwrap();
        assert_eq!(l.digests, [Some(sha(b"version two"))]);
    }

    #[test]
    fn missing_files_and_ranges_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = DigestStore::new(Counter::default());
        let l = store.lookup(&dir.path().join("nope.ts"), &[None]).unwrap();
        assert_eq!(
            (l.fingerprint, l.digests, l.settled),
            (None, vec![None], true)
        );

        let path = dir.path().join("short.ts");
        std::fs::write(&path, b"0123456789").unwrap();
        settle();
        let l = store.lookup(&path, &[Some(5..11)]).unwrap();
        assert_eq!((l.digests, l.settled), (vec![None], true), "past the end");
        let l = store.lookup(&path, &[Some(5..11), Some(5..10)]).unwrap();
        assert_eq!(l.digests, [None, Some(sha(b"56789"))]);
        let l = store.lookup(dir.path(), &[None]).unwrap();
        assert_eq!(l.digests, [None], "a folder has no digest");
    }
}
