//! Helpers shared by the test card's integration tests: reading playlists
//! with m3u8-rs and checking media with ffprobe.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

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

/// What ffprobe decoded from a media file or playlist; a stream type that is
/// absent has no codec (and, for video, zero size and frames).
#[derive(Debug, PartialEq, Eq)]
pub struct Probe {
    pub video: Option<String>,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub audio: Option<String>,
}

/// Decodes every frame of the media file `path` and reports its streams.
pub fn probe(path: &Path) -> Probe {
    run_ffprobe(&[], path)
}

/// Decodes every segment of the finished media playlist `path` through
/// ffmpeg's HLS demuxer, which also decrypts AES-128 segments with the key
/// the playlist names (a `.key` file, hence the allowed extensions).
pub fn probe_playlist(path: &Path) -> Probe {
    run_ffprobe(&["-allowed_extensions", "ALL"], path)
}

fn run_ffprobe(input_options: &[&str], path: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(input_options)
        .args(["-count_frames", "-show_entries"])
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
    let video = text.lines().find(|l| l.contains("codec_type=video"));
    let audio = text.lines().find(|l| l.contains("codec_type=audio"));
    let number = |key: &str| video.map_or(0, |v| field(v, key).parse().unwrap());
    Probe {
        video: video.map(|v| field(v, "codec_name")),
        width: number("width"),
        height: number("height"),
        frames: number("nb_read_frames"),
        audio: audio.map(|a| field(a, "codec_name")),
    }
}
