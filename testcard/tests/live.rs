//! The live test card with real ffmpeg, for about ten seconds: the window
//! slides, old segments are deleted, every rendition decodes, a killed ffmpeg
//! is restarted without resetting the media sequence, and stopping removes
//! the folder and the process. Tiny renditions and 1 s segments keep it cheap.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use m3u8_rs::MediaPlaylist;
use swarmcast_testcard::{LiveTestcard, StreamOptions};

const RENDITIONS: [(&str, u32, u32); 2] = [("144p", 256, 144), ("180p", 320, 180)];

/// Polls until `check` returns Some, or fails after `limit`.
async fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn media(dir: &Path, rendition: &str) -> Option<MediaPlaylist> {
    let path = dir.join(rendition).join("stream.m3u8");
    path.exists().then(|| common::media(&path))
}

/// Our ffmpeg children (this test binary runs no other).
fn ffmpeg_pids() -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-P", &std::process::id().to_string(), "-x", "ffmpeg"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_window_slides_survives_a_crash_and_cleans_up() {
    let options = StreamOptions {
        renditions: RENDITIONS
            .iter()
            .map(|(n, ..)| n.parse().unwrap())
            .collect(),
        segment_seconds: 1,
        window: 3,
        ..StreamOptions::default()
    };
    let live = LiveTestcard::start(options, None).await.unwrap();
    let dir = live.dir().to_path_buf();

    // The window slides: after a few segments the sequence has advanced and
    // the first segments are gone from the playlist and from the disk.
    let playlist = wait_for("the window to slide", Duration::from_secs(15), || {
        media(&dir, "144p").filter(|p| p.media_sequence >= 3)
    })
    .await;
    assert!(
        playlist.segments.len() <= 3,
        "window of 3: {}",
        playlist.segments.len()
    );
    assert!(
        !dir.join("144p/seg_00000.ts").exists(),
        "old segments are deleted"
    );

    let master = common::master(&live.master_playlist());
    assert_eq!(master.variants.len(), RENDITIONS.len());
    for (name, w, h) in RENDITIONS {
        let playlist = media(&dir, name).expect("media playlist");
        assert!(playlist.independent_segments);
        assert!(!playlist.end_list, "a live playlist has no end");
        let newest = &playlist.segments.last().unwrap().uri;
        let probe = common::probe(&dir.join(name).join(newest));
        assert_eq!(
            (
                probe.video.as_deref(),
                probe.width,
                probe.height,
                probe.audio.as_deref()
            ),
            (Some("h264"), w, h, Some("aac"))
        );
        assert_eq!(probe.frames, 30, "1 s at 30 fps in {name}/{newest}");
    }

    // A crashed ffmpeg is restarted and carries on the media sequence.
    let before = ffmpeg_pids();
    assert_eq!(before.len(), 1, "one ffmpeg: {before:?}");
    let sequence_before = media(&dir, "144p").unwrap().media_sequence;
    Command::new("kill")
        .args(["-KILL", &before[0]])
        .status()
        .unwrap();
    let resumed = wait_for(
        "a restarted ffmpeg to add segments",
        Duration::from_secs(10),
        || media(&dir, "144p").filter(|p| p.segments.iter().any(|s| s.discontinuity)),
    )
    .await;
    assert!(
        resumed.media_sequence >= sequence_before,
        "{} < {sequence_before}",
        resumed.media_sequence
    );
    let after = ffmpeg_pids();
    assert!(
        after.len() == 1 && after != before,
        "restarted: {before:?} -> {after:?}"
    );

    live.stop().await;
    assert!(!dir.exists(), "the folder is removed");
    assert!(ffmpeg_pids().is_empty(), "ffmpeg is gone");
}
