//! One media playlist with its digests filled in: each URI resolved to the
//! file this server would answer with, each file looked up (and hashed if
//! new) once however many ranges of it the playlist lists. Shared by the
//! origin's published playlists and the `swarmcast-digest` command.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::cache::Fingerprint;
use crate::digest::playlist::Playlist;
use crate::digest::resolve::url_path;
use crate::digest_store::DigestStore;
use crate::mounts::Mounts;

/// A file the digests depend on, as it was when they were computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub path: PathBuf,
    /// `None`: there was no such file.
    pub fingerprint: Option<Fingerprint>,
}

#[derive(Debug)]
pub struct Annotated {
    /// The playlist with digest tags; `None` for a playlist without segments.
    pub body: Option<String>,
    pub dependencies: Vec<Dependency>,
    /// Latest modification time of the files that gave a digest.
    pub modified: Option<SystemTime>,
    /// False if some digest was left out for now (a file too fresh, changing
    /// or unreadable): the same files may give more digests later.
    pub settled: bool,
    /// How long until every file too fresh to hash is old enough (zero if
    /// none was too fresh).
    pub too_fresh_for: Duration,
    pub with_digest: usize,
    pub without_digest: usize,
}

/// A target's index in the playlist, and the range of its file it wants.
type Wanted = (usize, Option<Range<u64>>);

/// Fills in the digests of `text`, a playlist served at URL path `playlist_path`.
/// Blocking: it may hash files.
pub fn annotate(
    store: &DigestStore,
    mounts: &Mounts,
    playlist_path: &str,
    text: &str,
) -> Annotated {
    let playlist = Playlist::parse(text);
    let mut digests = vec![None; playlist.targets().len()];
    let mut annotated = Annotated {
        body: None,
        dependencies: Vec::new(),
        modified: None,
        settled: true,
        too_fresh_for: Duration::ZERO,
        with_digest: 0,
        without_digest: 0,
    };
    if digests.is_empty() {
        return annotated;
    }
    // Each file once, with every range of it the playlist wants.
    let mut files: Vec<(PathBuf, Vec<Wanted>)> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    for (i, target) in playlist.targets().enumerate() {
        let Some(file) = url_path(playlist_path, &target.uri).and_then(|p| mounts.resolve(&p).ok())
        else {
            continue;
        };
        let wanted = (i, target.range.clone());
        match index.get(&file.path) {
            Some(&at) => files[at].1.push(wanted),
            None => {
                index.insert(file.path.clone(), files.len());
                files.push((file.path, vec![wanted]));
            }
        }
    }
    for (path, wanted) in files {
        let ranges: Vec<_> = wanted.iter().map(|(_, r)| r.clone()).collect();
        match store.lookup(&path, &ranges) {
            Ok(lookup) => {
                for ((i, _), digest) in wanted.iter().zip(&lookup.digests) {
                    digests[*i] = *digest;
                }
                if lookup.digests.iter().any(Option::is_some) {
                    annotated.modified = annotated.modified.max(lookup.modified);
                }
                annotated.settled &= lookup.settled;
                annotated.too_fresh_for = annotated.too_fresh_for.max(lookup.too_fresh_for);
                annotated.dependencies.push(Dependency {
                    path,
                    fingerprint: lookup.fingerprint,
                });
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "no digest: {e}");
                annotated.settled = false;
            }
        }
    }
    annotated.with_digest = digests.iter().flatten().count();
    annotated.without_digest = digests.len() - annotated.with_digest;
    annotated.body = Some(playlist.render(&digests));
    annotated
}
