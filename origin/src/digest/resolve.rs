//! Which URL path a playlist's URI names on the server that served the
//! playlist: the path a client would request, so that the digest is of what
//! this server answers there (and a URI can never point at a file outside
//! the served folders). URIs to other servers get no digest.

use url::Url;

/// A host no real URI names, standing in for "the server of the playlist".
const HERE: &str = "http://origin.invalid/";

/// The percent-encoded path `uri` resolves to from a playlist at `playlist_path`
/// (a percent-encoded URL path), or `None` if it names another server.
pub fn url_path(playlist_path: &str, uri: &str) -> Option<String> {
    let here = Url::parse(HERE).expect("a valid URL");
    let playlist = here.join(playlist_path).ok()?;
    let target = playlist.join(uri).ok()?;
    (target.origin() == here.origin()).then(|| target.path().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_root_relative_uris() {
        let p = "/live/360p/stream.m3u8";
        assert_eq!(url_path(p, "seg_1.ts").unwrap(), "/live/360p/seg_1.ts");
        assert_eq!(
            url_path(p, "seg_1.ts?token=x").unwrap(),
            "/live/360p/seg_1.ts"
        );
        assert_eq!(url_path(p, "../audio/a.aac").unwrap(), "/live/audio/a.aac");
        assert_eq!(url_path(p, "/vod/a%20b.ts").unwrap(), "/vod/a%20b.ts");
        // Cannot climb above the root, as on the server itself.
        assert_eq!(url_path(p, "../../../../x.ts").unwrap(), "/x.ts");
    }

    #[test]
    fn other_servers_are_not_ours() {
        let p = "/live/stream.m3u8";
        assert_eq!(url_path(p, "https://cdn.example/seg.ts"), None);
        assert_eq!(url_path(p, "//cdn.example/seg.ts"), None);
        assert_eq!(url_path(p, "data:video/mp2t;base64,AAAA"), None);
    }
}
