//! Which folder answers which URL path: `--mount PREFIX=DIR` entries matched
//! by longest prefix, and the one place where request paths are checked for
//! traversal before they touch the file system.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use percent_encoding::percent_decode_str;

/// A URL prefix, as path segments (empty for `/`), so `/dist`, `/dist/` and
/// `//dist` are the same prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix(Vec<String>);

impl FromStr for Prefix {
    type Err = String;

    fn from_str(prefix: &str) -> Result<Self, Self::Err> {
        if !prefix.starts_with('/') {
            return Err(format!("mount prefix `{prefix}` must start with /"));
        }
        let segments: Vec<String> = prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if segments.iter().any(|s| s == "." || s == "..") {
            return Err("mount prefix must not contain . or ..".into());
        }
        Ok(Self(segments))
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}", self.0.join("/"))
    }
}

/// One URL prefix served from one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    prefix: Prefix,
    dir: PathBuf,
    /// Media playlists under it carry segment digests.
    digests: bool,
}

impl Mount {
    pub fn new(prefix: &str, dir: impl Into<PathBuf>) -> Result<Self, String> {
        Ok(Self {
            prefix: prefix.parse()?,
            dir: dir.into(),
            digests: false,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    pub fn digests(&self) -> bool {
        self.digests
    }

    pub fn set_digests(&mut self, on: bool) {
        self.digests = on;
    }
}

/// `PREFIX=DIR`, as given on the command line; DIR must be a folder.
impl FromStr for Mount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (prefix, dir) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not PREFIX=DIR (e.g. /dist=dist)"))?;
        if !Path::new(dir).is_dir() {
            return Err(format!("`{dir}` is not a folder"));
        }
        Self::new(prefix, dir)
    }
}

/// The file a URL path names, and how its mount serves it.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    pub path: PathBuf,
    pub digests: bool,
}

/// Why a path cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `..`, an encoded separator, a NUL byte or invalid UTF-8: answered with 400.
    Traversal,
    /// No mount covers the path: 404.
    NotMounted,
}

#[derive(Debug, Default, Clone)]
pub struct Mounts {
    /// Longest prefix first, so `/dist` wins over `/`.
    mounts: Vec<Mount>,
}

impl Mounts {
    pub fn new(mut mounts: Vec<Mount>) -> Self {
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.0.len()));
        Self { mounts }
    }

    /// The file for a raw (still percent-encoded) URL path.
    pub fn resolve(&self, raw_path: &str) -> Result<Resolved, Refusal> {
        let segments = decode_segments(raw_path)?;
        let mount = self
            .mounts
            .iter()
            .find(|m| segments.starts_with(&m.prefix.0))
            .ok_or(Refusal::NotMounted)?;
        let mut path = mount.dir.clone();
        path.extend(&segments[mount.prefix.0.len()..]);
        Ok(Resolved {
            path,
            digests: mount.digests,
        })
    }
}

/// Decodes each segment on its own, so `%2F` cannot smuggle in a separator,
/// and refuses any segment that could leave the mounted folder.
fn decode_segments(raw_path: &str) -> Result<Vec<String>, Refusal> {
    let mut segments = Vec::new();
    for raw in raw_path.split('/') {
        let segment = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| Refusal::Traversal)?;
        match segment.as_ref() {
            "" | "." => continue,
            ".." => return Err(Refusal::Traversal),
            s if s.contains(['/', '\\', '\0']) => return Err(Refusal::Traversal),
            s => segments.push(s.to_string()),
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(t: &Mounts, path: &str) -> Result<PathBuf, Refusal> {
        t.resolve(path).map(|r| r.path)
    }

    fn table() -> Mounts {
        Mounts::new(vec![
            Mount::new("/", "/srv/demo").unwrap(),
            Mount::new("/live", "/tmp/live").unwrap(),
            Mount::new("/vendor/hls.js/", "/nm/hls").unwrap(),
        ])
    }

    #[test]
    fn longest_prefix_wins() {
        let t = table();
        assert_eq!(
            file(&t, "/live/360p/seg_1.ts"),
            Ok("/tmp/live/360p/seg_1.ts".into())
        );
        assert_eq!(
            file(&t, "/vendor/hls.js/hls.mjs"),
            Ok("/nm/hls/hls.mjs".into())
        );
        assert_eq!(file(&t, "/index.html"), Ok("/srv/demo/index.html".into()));
        assert_eq!(file(&t, "/"), Ok("/srv/demo".into()));
        assert_eq!(file(&t, "/lively.txt"), Ok("/srv/demo/lively.txt".into()));
        assert_eq!(file(&t, "/a%20b.txt"), Ok("/srv/demo/a b.txt".into()));
    }

    #[test]
    fn digests_follow_the_mount() {
        let mut live = Mount::new("/live/", "/tmp/live").unwrap();
        live.set_digests(true);
        let t = Mounts::new(vec![Mount::new("/", "/srv").unwrap(), live]);
        assert!(t.resolve("/live/a/stream.m3u8").unwrap().digests);
        assert!(!t.resolve("/stream.m3u8").unwrap().digests);
        assert_eq!("//live/".parse::<Prefix>().unwrap().to_string(), "/live");
    }

    #[test]
    fn unmounted_paths_are_not_found() {
        let t = Mounts::new(vec![Mount::new("/live", "/tmp/live").unwrap()]);
        assert_eq!(file(&t, "/etc/passwd"), Err(Refusal::NotMounted));
    }

    #[test]
    fn traversal_is_refused_in_every_spelling() {
        let t = table();
        for evil in [
            "/live/../etc/passwd",
            "/live/%2e%2e/etc/passwd",
            "/live/%2E%2E/%2e%2e/etc/passwd",
            "/live/..%2fetc%2fpasswd",
            "/live/..%5cetc",
            "/live/a%00.ts",
            "/live/%ff.ts",
        ] {
            assert_eq!(file(&t, evil), Err(Refusal::Traversal), "{evil}");
        }
    }

    #[test]
    fn bad_mount_flags_explain_themselves() {
        assert!("dist".parse::<Mount>().unwrap_err().contains("PREFIX=DIR"));
        assert!("/x=/definitely/not/here"
            .parse::<Mount>()
            .unwrap_err()
            .contains("not a folder"));
        assert!("x=/tmp"
            .parse::<Mount>()
            .unwrap_err()
            .contains("start with /"));
    }
}
