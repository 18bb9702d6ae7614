//! The work of `swarmcast-digest`: writes current digests into every media
//! playlist of a folder, for servers that do not publish them. A playlist
//! is rewritten only if its text changes, so a second run writes nothing,
//! and atomically (a new file renamed over it), so a server reading it
//! meanwhile sees the old playlist or the new one, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::annotate::annotate;
use crate::digest_store::DigestStore;
use crate::mounts::{Mount, Mounts};

/// Characters escaped in a file name to make it a URL path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// How often, and how long apart, a playlist is retried while some of its
/// files are too fresh to hash (2.5 s covers whole-second timestamps).
const SETTLE_TRIES: u32 = 25;
const SETTLE_PAUSE: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: changed while digests were added; run again", .0.display())]
    Changed(PathBuf),
}

/// What happened to one media playlist.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Relative to the folder.
    pub playlist: PathBuf,
    pub with_digest: usize,
    /// Segments whose file is missing, outside the folder, or still changing.
    pub without_digest: usize,
    /// The text differed from what it should be (and was rewritten, unless checking).
    pub stale: bool,
}

/// Adds digests to the media playlists under `root` (all of them, in
/// subfolders too); with `write` false only reports what would change.
pub fn add_digests(root: &Path, write: bool) -> Result<Vec<Outcome>, FolderError> {
    let mounts = Mounts::new(vec![Mount::new("/", root).expect("/ is a valid prefix")]);
    let store = DigestStore::new(Default::default());
    let mut outcomes = Vec::new();
    for playlist in playlists(root)? {
        let relative = playlist.strip_prefix(root).expect("found under root");
        let Some(url_path) = url_path(relative) else {
            tracing::warn!(path = %playlist.display(), "skipped: the name is not UTF-8");
            continue;
        };
        let io = |source| FolderError::Io {
            path: playlist.clone(),
            source,
        };
        let text = std::fs::read(&playlist).map_err(io)?;
        let Ok(text) = String::from_utf8(text) else {
            tracing::warn!(path = %playlist.display(), "skipped: not UTF-8 text");
            continue;
        };
        let mut annotated = annotate(&store, &mounts, &url_path, &text);
        for _ in 1..SETTLE_TRIES {
            if annotated.settled {
                break;
            }
            std::thread::sleep(SETTLE_PAUSE);
            annotated = annotate(&store, &mounts, &url_path, &text);
        }
        let Some(body) = annotated.body else {
            continue; // a multivariant playlist
        };
        let stale = body != text;
        if stale && write {
            replace(&playlist, &text, &body)?;
        }
        outcomes.push(Outcome {
            playlist: relative.to_path_buf(),
            with_digest: annotated.with_digest,
            without_digest: annotated.without_digest,
            stale,
        });
    }
    Ok(outcomes)
}

/// Every `.m3u8` file under `root`, in a stable order. Symbolic links are
/// not followed: renaming over one would replace the link, not its target.
fn playlists(root: &Path) -> Result<Vec<PathBuf>, FolderError> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let io = |source| FolderError::Io {
            path: folder.clone(),
            source,
        };
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let entry = entry.map_err(io)?;
            let kind = entry.file_type().map_err(io)?;
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file()
                && path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("m3u8"))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The URL path of a file relative to the served folder.
fn url_path(relative: &Path) -> Option<String> {
    let mut path = String::new();
    for part in relative.iter() {
        path.push('/');
        path.extend(utf8_percent_encode(part.to_str()?, SEGMENT));
    }
    Some(path)
}

/// Writes `new` beside `path` and renames it over `path`, unless the
/// playlist no longer holds `old` (a packager rewrote it meanwhile).
fn replace(path: &Path, old: &str, new: &str) -> Result<(), FolderError> {
    let io = |source| FolderError::Io {
        path: path.to_path_buf(),
        source,
    };
    let folder = path.parent().expect("a file has a folder");
    let mut tmp = tempfile::Builder::new()
        .prefix(".swarmcast-digest-")
        .tempfile_in(folder)
        .map_err(io)?;
    tmp.write_all(new.as_bytes()).map_err(io)?;
    let permissions = std::fs::metadata(path).map_err(io)?.permissions();
    tmp.as_file().set_permissions(permissions).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if std::fs::read(path).map_err(io)? != old.as_bytes() {
        return Err(FolderError::Changed(path.to_path_buf()));
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_of_file_names() {
        assert_eq!(
            url_path(Path::new("a b/stream#1.m3u8")).unwrap(),
            "/a%20b/stream%231.m3u8"
        );
        assert_eq!(url_path(Path::new("x.m3u8")).unwrap(), "/x.m3u8");
    }
}
