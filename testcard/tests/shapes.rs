//! The stream shapes beyond muxed audio, with real ffmpeg and ffprobe:
//! audio as its own rendition (EXT-X-MEDIA) and AES-128 encryption
//! (EXT-X-KEY), alone and combined with fMP4, byte ranges and live output.
//! The playlists carry the right tags and every segment decodes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use m3u8_rs::{AlternativeMediaType, KeyMethod, MediaPlaylist};
use swarmcast_testcard::{generate_vod, LiveTestcard, StreamOptions, VodOptions};

const VIDEO: [&str; 2] = ["144p", "180p"];

fn options(fmp4: bool, alt_audio: bool, aes128: bool) -> StreamOptions {
    StreamOptions {
        renditions: VIDEO.iter().map(|r| r.parse().unwrap()).collect(),
        fmp4,
        alt_audio,
        aes128,
        ..StreamOptions::default()
    }
}

async fn vod(options: &StreamOptions, seconds: u32, byterange: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    generate_vod(options, VodOptions { seconds, byterange }, tmp.path())
        .await
        .unwrap();
    tmp
}

fn media(out: &Path, folder: &str) -> MediaPlaylist {
    common::media(&out.join(folder).join("stream.m3u8"))
}

/// The master playlist lists one audio rendition (in English, the default)
/// and every video variant, each referring to the audio group; no
/// audio-only variant.
fn assert_alt_audio_master(out: &Path) {
    let master = common::master(&out.join("master.m3u8"));
    let [audio] = &master.alternatives[..] else {
        panic!("one EXT-X-MEDIA: {:?}", master.alternatives);
    };
    assert_eq!(audio.media_type, AlternativeMediaType::Audio);
    assert_eq!(audio.uri.as_deref(), Some("audio/stream.m3u8"));
    assert_eq!(audio.language.as_deref(), Some("en"));
    assert!(audio.default);
    let uris: Vec<_> = master.variants.iter().map(|v| v.uri.as_str()).collect();
    assert_eq!(uris, ["144p/stream.m3u8", "180p/stream.m3u8"]);
    for v in &master.variants {
        assert_eq!(
            v.audio.as_deref(),
            Some(audio.group_id.as_str()),
            "{}",
            v.uri
        );
        assert!(v.resolution.is_some(), "{} is a video variant", v.uri);
    }
}

/// Every media playlist names the served key: METHOD=AES-128, URI ../enc.key.
fn assert_encrypted(out: &Path, folders: &[&str]) {
    let key = std::fs::read(out.join("enc.key")).unwrap();
    assert_eq!(key.len(), 16, "an AES-128 key");
    for folder in folders {
        let playlist = media(out, folder);
        let tag = playlist.segments[0].key.as_ref().expect("EXT-X-KEY");
        assert_eq!(tag.method, KeyMethod::AES128, "{folder}");
        assert_eq!(tag.uri.as_deref(), Some("../enc.key"), "{folder}");
    }
}

/// The raw bytes are not MPEG-TS: every 188-byte packet would start 0x47.
fn assert_not_plain_ts(bytes: &[u8]) {
    let synced = bytes.chunks(188).all(|packet| packet[0] == 0x47);
    assert!(
        !synced,
        "an encrypted segment must not look like plain MPEG-TS"
    );
}

#[tokio::test]
async fn alt_audio_ts_vod_has_an_audio_rendition_and_video_only_variants() {
    let tmp = vod(&options(false, true, false), 4, false).await;
    let out = tmp.path();
    assert_alt_audio_master(out);
    for (name, (w, h)) in VIDEO.iter().zip([(256, 144), (320, 180)]) {
        let playlist = media(out, name);
        assert!(playlist.end_list && playlist.independent_segments);
        assert_eq!(playlist.segments.len(), 2);
        for s in &playlist.segments {
            let probe = common::probe(&out.join(name).join(&s.uri));
            assert_eq!(
                (
                    probe.video.as_deref(),
                    probe.width,
                    probe.height,
                    probe.frames
                ),
                (Some("h264"), w, h, 60)
            );
            assert_eq!(probe.audio, None, "video only: audio is its own rendition");
        }
    }
    let audio = media(out, "audio");
    assert!(audio.end_list);
    let seconds: f32 = audio.segments.iter().map(|s| s.duration).sum();
    assert!((seconds - 4.0).abs() < 0.1, "{seconds} s of audio");
    for s in &audio.segments {
        let probe = common::probe(&out.join("audio").join(&s.uri));
        assert_eq!((probe.video, probe.audio.as_deref()), (None, Some("aac")));
    }
}

#[tokio::test]
async fn alt_audio_fmp4_byterange_vod_addresses_every_rendition_by_range() {
    let tmp = vod(&options(true, true, false), 4, true).await;
    let out = tmp.path();
    assert_alt_audio_master(out);
    for folder in ["144p", "180p", "audio"] {
        let playlist = media(out, folder);
        let map = playlist.segments[0].map.as_ref().expect("EXT-X-MAP");
        assert!(map.byte_range.is_some(), "{folder}: init segment by range");
        assert!(playlist.segments.iter().all(|s| s.byte_range.is_some()));
        assert!(playlist.segments.iter().all(|s| s.uri == "stream.m4s"));
    }
    let video = common::probe_playlist(&out.join("180p/stream.m3u8"));
    assert_eq!(
        (video.video.as_deref(), video.frames, video.audio),
        (Some("h264"), 120, None)
    );
    let audio = common::probe_playlist(&out.join("audio/stream.m3u8"));
    assert_eq!((audio.video, audio.audio.as_deref()), (None, Some("aac")));
}

#[tokio::test]
async fn aes128_ts_vod_is_encrypted_and_decodes_with_the_served_key() {
    let tmp = vod(&options(false, false, true), 4, false).await;
    let out = tmp.path();
    assert_encrypted(out, &VIDEO);
    for name in VIDEO {
        let playlist = media(out, name);
        for s in &playlist.segments {
            assert_not_plain_ts(&std::fs::read(out.join(name).join(&s.uri)).unwrap());
        }
        let probe = common::probe_playlist(&out.join(name).join("stream.m3u8"));
        assert_eq!(
            (probe.video.as_deref(), probe.frames, probe.audio.as_deref()),
            (Some("h264"), 120, Some("aac"))
        );
    }
}

#[tokio::test]
async fn aes128_byterange_alt_audio_vod_decodes_range_by_range() {
    let tmp = vod(&options(false, true, true), 4, true).await;
    let out = tmp.path();
    assert_alt_audio_master(out);
    let folders = ["144p", "180p", "audio"];
    assert_encrypted(out, &folders);
    for folder in folders {
        let playlist = media(out, folder);
        assert!(playlist.segments.iter().all(|s| s.byte_range.is_some()));
        let files: Vec<_> = std::fs::read_dir(out.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            files.iter().all(|f| !f.ends_with(".tmp")),
            "no leftovers: {files:?}"
        );
        let probe = common::probe_playlist(&out.join(folder).join("stream.m3u8"));
        let expected = if folder == "audio" {
            None
        } else {
            Some("h264")
        };
        assert_eq!(probe.video.as_deref(), expected, "{folder}");
    }
}

/// A finished copy of the newest segment of a live playlist, beside it, so
/// ffprobe decodes (and decrypts) it without waiting for more segments.
fn newest_segment_playlist(dir: &Path) -> std::path::PathBuf {
    let mut playlist = common::media(&dir.join("stream.m3u8"));
    let key = playlist.segments[0].key.clone();
    let mut newest = playlist.segments.pop().unwrap();
    newest.key = key;
    playlist.segments = vec![newest];
    playlist.end_list = true;
    let path = dir.join("probe.m3u8");
    let mut file = std::fs::File::create(&path).unwrap();
    playlist.write_to(&mut file).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_alt_audio_aes128_serves_an_encrypted_audio_rendition() {
    let options = StreamOptions {
        renditions: vec!["144p".parse().unwrap()],
        segment_seconds: 1,
        window: 5,
        alt_audio: true,
        aes128: true,
        ..StreamOptions::default()
    };
    let live = LiveTestcard::start(options, None).await.unwrap();
    let dir = live.dir().to_path_buf();
    let deadline = Instant::now() + Duration::from_secs(15);
    let has_segments = |folder: &str| {
        let path = dir.join(folder).join("stream.m3u8");
        path.exists() && common::media(&path).segments.len() >= 2
    };
    while !(has_segments("144p") && has_segments("audio")) {
        assert!(Instant::now() < deadline, "no live segments in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let master = common::master(&dir.join("master.m3u8"));
    assert_eq!(
        master.alternatives.len(),
        1,
        "an EXT-X-MEDIA audio rendition"
    );
    assert_encrypted(&dir, &["144p", "audio"]);
    for (folder, video) in [("144p", Some("h264")), ("audio", None)] {
        let probe = common::probe_playlist(&newest_segment_playlist(&dir.join(folder)));
        assert_eq!(probe.video.as_deref(), video, "{folder}");
        assert_eq!(probe.audio.as_deref(), video.is_none().then_some("aac"));
    }
    live.stop().await;
    assert!(!dir.exists(), "the folder, key included, is removed");
}
