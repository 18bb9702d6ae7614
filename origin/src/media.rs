//! What a file is to an HLS origin, from its name: the MIME type, how long
//! caches may keep it, and which bucket its bytes are counted in.

use std::path::Path;

/// Bucket for metrics and cache policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `.m3u8`: rewritten every segment while live.
    Playlist,
    /// Media, init segments, subtitles and keys: never change once written.
    Segment,
    /// The demo page, the loader package and anything else.
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Playlist => "playlist",
            Self::Segment => "segment",
            Self::Other => "other",
        }
    }

    /// Live playlists must be revalidated on every request (an ETag makes
    /// that a cheap 304); segment names are never reused, so they are immutable.
    /// The demo and loader change while developing: revalidate them too.
    pub fn cache_control(self) -> &'static str {
        match self {
            Self::Playlist | Self::Other => "no-cache",
            Self::Segment => "public, max-age=31536000, immutable",
        }
    }
}

/// Kind and `Content-Type` of a file.
pub fn classify(path: &Path) -> (Kind, String) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // `.d.ts` would otherwise be taken for an MPEG-TS segment.
    if name.ends_with(".d.ts") {
        return (Kind::Other, "application/typescript; charset=utf-8".into());
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let hls = match ext.as_str() {
        "m3u8" => Some((Kind::Playlist, "application/vnd.apple.mpegurl")),
        "ts" => Some((Kind::Segment, "video/mp2t")),
        "m4s" => Some((Kind::Segment, "video/iso.segment")),
        "mp4" => Some((Kind::Segment, "video/mp4")),
        "aac" => Some((Kind::Segment, "audio/aac")),
        "vtt" => Some((Kind::Segment, "text/vtt; charset=utf-8")),
        "key" => Some((Kind::Segment, "application/octet-stream")),
        _ => None,
    };
    if let Some((kind, mime)) = hls {
        return (kind, mime.into());
    }
    let mime = mime_guess::from_ext(&ext).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json");
    let mime = if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    (Kind::Other, mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mime(name: &str) -> String {
        classify(Path::new(name)).1
    }

    #[test]
    fn hls_types() {
        assert_eq!(
            classify(Path::new("a/stream.m3u8")),
            (Kind::Playlist, "application/vnd.apple.mpegurl".into())
        );
        assert_eq!(mime("seg_00001.ts"), "video/mp2t");
        assert_eq!(mime("seg_00001.m4s"), "video/iso.segment");
        assert_eq!(mime("init.mp4"), "video/mp4");
        assert_eq!(mime("a.aac"), "audio/aac");
        assert_eq!(mime("sub.vtt"), "text/vtt; charset=utf-8");
        assert_eq!(mime("k.key"), "application/octet-stream");
        assert_eq!(classify(Path::new("SEG.TS")).0, Kind::Segment);
    }

    #[test]
    fn loader_package_types() {
        assert_eq!(mime("swarmcast.js"), "text/javascript; charset=utf-8");
        assert_eq!(mime("swarmcast_loader_bg.wasm"), "application/wasm");
        assert_eq!(classify(Path::new("swarmcast.d.ts")).0, Kind::Other);
        assert_eq!(mime("package.json"), "application/json; charset=utf-8");
        assert_eq!(mime("index.html"), "text/html; charset=utf-8");
        assert_eq!(mime("style.css"), "text/css; charset=utf-8");
        assert_eq!(mime("logo.png"), "image/png");
    }
}
