//! Helpers shared by the test card's integration tests: reading playlists
//! with m3u8-rs and checking media with ffprobe.

use std::path::Path;
use std::process::Command;

use m3u8_rs::{MasterPlaylist, MediaPlaylist, Playlist};

pub fn master(path: &Path) -> MasterPlaylist {
    match parse(path) {
        Playlist::MasterPlaylist(m) => m,
        Playlist::MediaPlaylist(_) => panic!("{} is a media playlist", path.display()),
    }
}

pub fn media(path: &Path) -> MediaPlaylist {
    match parse(path) {
        Playlist::MediaPlaylist(m) => m,
        Playlist::MasterPlaylist(_) => panic!("{} is a master playlist", path.display()),
    }
}

fn parse(path: &Path) -> Playlist {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    m3u8_rs::parse_playlist_res(&bytes)
        .unwrap_or_else(|e| panic!("{} does not parse: {e:?}", path.display()))
}

/// What ffprobe decoded from a media file.
#[derive(Debug, PartialEq, Eq)]
pub struct Probe {
    pub video: String,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub audio: String,
}

/// Decodes every frame of `path` and reports its streams.
pub fn probe(path: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .arg("stream=codec_type,codec_name,width,height,nb_read_frames")
        .args(["-of", "csv=p=0:nk=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "decode errors in {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |line: &str, key: &str| -> String {
        line.split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap_or_default()
            .to_string()
    };
    let video = text
        .lines()
        .find(|l| l.contains("codec_type=video"))
        .expect("a video stream");
    let audio = text
        .lines()
        .find(|l| l.contains("codec_type=audio"))
        .expect("an audio stream");
    Probe {
        video: field(video, "codec_name"),
        width: field(video, "width").parse().unwrap(),
        height: field(video, "height").parse().unwrap(),
        frames: field(video, "nb_read_frames").parse().unwrap(),
        audio: field(audio, "codec_name"),
    }
}
