//! Which folder answers which URL path: `--mount PREFIX=DIR` entries matched
//! by longest prefix, and the one place where request paths are checked for
//! traversal before they touch the file system.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use percent_encoding::percent_decode_str;

/// One URL prefix served from one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Path segments of the prefix; empty for `/`.
    prefix: Vec<String>,
    dir: PathBuf,
}

impl Mount {
    pub fn new(prefix: &str, dir: impl Into<PathBuf>) -> Result<Self, String> {
        if !prefix.starts_with('/') {
            return Err(format!("mount prefix `{prefix}` must start with /"));
        }
        let prefix: Vec<String> = prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if prefix.iter().any(|s| s == "." || s == "..") {
            return Err("mount prefix must not contain . or ..".into());
        }
        Ok(Self {
            prefix,
            dir: dir.into(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn prefix(&self) -> String {
        format!("/{}", self.prefix.join("/"))
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
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Self { mounts }
    }

    /// The file for a raw (still percent-encoded) URL path.
    pub fn resolve(&self, raw_path: &str) -> Result<PathBuf, Refusal> {
        let segments = decode_segments(raw_path)?;
        let mount = self
            .mounts
            .iter()
            .find(|m| {
                segments.len() >= m.prefix.len() && segments[..m.prefix.len()] == m.prefix[..]
            })
            .ok_or(Refusal::NotMounted)?;
        let mut path = mount.dir.clone();
        path.extend(&segments[mount.prefix.len()..]);
        Ok(path)
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
            t.resolve("/live/360p/seg_1.ts"),
            Ok("/tmp/live/360p/seg_1.ts".into())
        );
        assert_eq!(
            t.resolve("/vendor/hls.js/hls.mjs"),
            Ok("/nm/hls/hls.mjs".into())
        );
        assert_eq!(t.resolve("/index.html"), Ok("/srv/demo/index.html".into()));
        assert_eq!(t.resolve("/"), Ok("/srv/demo".into()));
        assert_eq!(t.resolve("/lively.txt"), Ok("/srv/demo/lively.txt".into()));
        assert_eq!(t.resolve("/a%20b.txt"), Ok("/srv/demo/a b.txt".into()));
    }

    #[test]
    fn unmounted_paths_are_not_found() {
        let t = Mounts::new(vec![Mount::new("/live", "/tmp/live").unwrap()]);
        assert_eq!(t.resolve("/etc/passwd"), Err(Refusal::NotMounted));
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
            assert_eq!(t.resolve(evil), Err(Refusal::Traversal), "{evil}");
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
