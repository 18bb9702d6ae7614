//! VOD modes with real ffmpeg: segmented TS, fMP4 with an init segment, and
//! single-file byte-range renditions all parse, end, and decode.

mod common;

use std::path::Path;
use std::process::Command;

use m3u8_rs::MediaPlaylist;
use swarmcast_testcard::{generate_vod, StreamOptions, TestcardError, VodOptions};

fn options(renditions: &str, fmp4: bool) -> StreamOptions {
    StreamOptions {
        renditions: renditions.split(',').map(|r| r.parse().unwrap()).collect(),
        fmp4,
        ..StreamOptions::default()
    }
}

/// Checks the master playlist and returns each rendition's media playlist.
fn renditions(out: &Path, expected: &[(&str, u64, u64)]) -> Vec<MediaPlaylist> {
    let master = common::master(&out.join("master.m3u8"));
    let uris: Vec<_> = master.variants.iter().map(|v| v.uri.as_str()).collect();
    let want: Vec<_> = expected
        .iter()
        .map(|(n, ..)| format!("{n}/stream.m3u8"))
        .collect();
    assert_eq!(uris, want);
    for (variant, (_, w, h)) in master.variants.iter().zip(expected) {
        let res = variant.resolution.unwrap();
        assert_eq!((res.width, res.height), (*w, *h));
        assert!(
            variant.codecs.as_deref().unwrap().contains("mp4a.40.2"),
            "H.264 + AAC"
        );
    }
    expected
        .iter()
        .map(|(name, ..)| {
            let playlist = common::media(&out.join(name).join("stream.m3u8"));
            assert!(playlist.end_list, "VOD playlists end with EXT-X-ENDLIST");
            assert!(playlist.independent_segments);
            playlist
        })
        .collect()
}

#[tokio::test]
async fn segmented_ts_vod_decodes_in_every_rendition() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("vod");
    let vod = VodOptions {
        seconds: 4,
        byterange: false,
    };
    generate_vod(&options("360p,540p", false), vod, &out)
        .await
        .unwrap();

    let playlists = renditions(&out, &[("360p", 640, 360), ("540p", 960, 540)]);
    for (playlist, (name, w, h)) in playlists
        .iter()
        .zip([("360p", 640, 360), ("540p", 960, 540)])
    {
        assert_eq!(playlist.segments.len(), 2, "4 s in 2 s segments");
        for s in &playlist.segments {
            assert!(
                (s.duration - 2.0).abs() < 0.01,
                "segment of {} s",
                s.duration
            );
            let probe = common::probe(&out.join(name).join(&s.uri));
            assert_eq!(
                (probe.video.as_deref(), probe.width, probe.height),
                (Some("h264"), w, h)
            );
            assert_eq!(probe.audio.as_deref(), Some("aac"));
            assert_eq!(probe.frames, 60, "2 s at 30 fps, starting on a keyframe");
        }
    }
}

#[tokio::test]
async fn byterange_vod_uses_one_file_per_rendition() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("vod");
    let vod = VodOptions {
        seconds: 4,
        byterange: true,
    };
    generate_vod(&options("144p", false), vod, &out)
        .await
        .unwrap();

    let playlist = renditions(&out, &[("144p", 256, 144)]).remove(0);
    assert_eq!(playlist.segments.len(), 2);
    let file = out.join("144p/stream.ts");
    let mut next = 0;
    for s in &playlist.segments {
        assert_eq!(s.uri, "stream.ts");
        let range = s.byte_range.as_ref().expect("EXT-X-BYTERANGE");
        assert_eq!(range.offset, Some(next), "ranges follow each other");
        next += range.length;
    }
    assert_eq!(
        next,
        std::fs::metadata(&file).unwrap().len(),
        "ranges cover the file"
    );
    assert_eq!(common::probe(&file).frames, 120);
}

#[tokio::test]
async fn fmp4_vod_has_an_init_segment_and_byterange_variant() {
    let tmp = tempfile::tempdir().unwrap();

    let out = tmp.path().join("fmp4");
    let vod = VodOptions {
        seconds: 2,
        byterange: false,
    };
    generate_vod(&options("144p", true), vod, &out)
        .await
        .unwrap();
    let playlist = renditions(&out, &[("144p", 256, 144)]).remove(0);
    let init = playlist.segments[0]
        .map
        .as_ref()
        .expect("EXT-X-MAP")
        .uri
        .clone();
    let segment = &playlist.segments[0].uri;
    assert!(segment.ends_with(".m4s"), "{segment}");
    // An fMP4 media segment decodes once its init segment is prepended.
    let mut joined = std::fs::read(out.join("144p").join(&init)).unwrap();
    joined.extend(std::fs::read(out.join("144p").join(segment)).unwrap());
    let joined_path = tmp.path().join("joined.mp4");
    std::fs::write(&joined_path, joined).unwrap();
    let probe = common::probe(&joined_path);
    assert_eq!(
        (probe.video.as_deref(), probe.frames, probe.audio.as_deref()),
        (Some("h264"), 60, Some("aac"))
    );

    let out = tmp.path().join("fmp4-byterange");
    let vod = VodOptions {
        seconds: 2,
        byterange: true,
    };
    generate_vod(&options("144p", true), vod, &out)
        .await
        .unwrap();
    let playlist = renditions(&out, &[("144p", 256, 144)]).remove(0);
    let map = playlist.segments[0].map.as_ref().expect("EXT-X-MAP");
    assert_eq!(map.uri, "stream.m4s");
    assert!(
        map.byte_range.is_some(),
        "the init segment is a byte range too"
    );
    assert!(playlist.segments.iter().all(|s| s.byte_range.is_some()));
}

#[tokio::test]
async fn missing_ffmpeg_says_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let options = StreamOptions {
        ffmpeg: "/nonexistent/ffmpeg".into(),
        ..StreamOptions::default()
    };
    let vod = VodOptions {
        seconds: 2,
        byterange: false,
    };
    let err = generate_vod(&options, vod, tmp.path()).await.unwrap_err();
    assert!(matches!(err, TestcardError::FfmpegMissing(_)), "{err:?}");
    assert!(err.to_string().contains("apt-get install ffmpeg"), "{err}");
}

#[test]
fn cli_writes_a_vod_and_rejects_bad_flags() {
    let bin = env!("CARGO_BIN_EXE_swarmcast-testcard");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cli");
    let run = Command::new(bin)
        .args(["--vod", "2", "--renditions", "144p", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8(run.stdout).unwrap().trim(),
        out.join("master.m3u8").display().to_string()
    );
    assert!(common::media(&out.join("144p/stream.m3u8")).end_list);

    for (args, message) in [
        (&["--byterange", "--out", "x"][..], "--vod"),
        (&["--vod", "2"][..], "--out"),
        (
            &["--vod", "2", "--out", "x", "--renditions", "abc"][..],
            "must look like 360p",
        ),
        (
            &["--vod", "2", "--out", "x", "--segment-seconds", "0"][..],
            "--segment-seconds",
        ),
        (
            &["--vod", "2", "--out", "x", "--aes128", "--fmp4"][..],
            "cannot be used with",
        ),
    ] {
        let run = Command::new(bin).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && stderr.contains(message),
            "{args:?}: {stderr}"
        );
    }
}
