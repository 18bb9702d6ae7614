//! The real binary with `--testcard` and real ffmpeg: the live playlists and
//! a segment are served over HTTP, the media playlists carry digests (on by
//! default) that match the served segments while ffmpeg keeps writing, and
//! SIGTERM stops ffmpeg, removes the test card's temporary folder and exits
//! cleanly.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use m3u8_rs::Playlist;
use reqwest::StatusCode;
use support::claims::{claims, sha_hex};
use support::Origin;

/// Polls `path` until it answers 200 and `ready` accepts the body. Errors
/// while polling count as "not yet" (the test card starts in the background).
async fn fetch_when(origin: &Origin, path: &str, ready: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let last = match reqwest::get(format!("{}{path}", origin.url)).await {
            Ok(res) if res.status() == StatusCode::OK => {
                let body = res.bytes().await.unwrap().to_vec();
                if ready(&body) {
                    return body;
                }
                "a body that is not ready".to_string()
            }
            Ok(res) => format!("status {}", res.status()),
            Err(e) => format!("{e:?}"),
        };
        assert!(
            Instant::now() < deadline,
            "{path} not served in time: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the live media playlist for a few segment durations: every digest
/// matches the segment then served, and all but the newest segments have one
/// (the newest may be younger than the settle time).
async fn check_digests_while_live(origin: &Origin, media_path: &str) {
    let (mut checked, mut segments_without) = (0, 0);
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let text = reqwest::get(format!("{}{media_path}", origin.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (claims, segments) = claims(media_path, &text);
        assert!(
            segments - claims.len() <= 1,
            "at most the newest lacks a digest:\n{text}"
        );
        segments_without += segments - claims.len();
        for c in claims {
            let res = reqwest::get(format!("{}{}", origin.url, c.url_path))
                .await
                .unwrap();
            if res.status() == StatusCode::NOT_FOUND {
                continue; // left the window and deleted meanwhile
            }
            assert_eq!(sha_hex(&res.bytes().await.unwrap()), c.digest, "{c:?}");
            checked += 1;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(checked >= 10, "only {checked} digests checked");
    eprintln!("{checked} digests checked; {segments_without} newest segments seen without one");
}

/// The test card folders in `tmp` (its temporary folder is made there).
fn testcard_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("swarmcast-testcard-"))
        .collect()
}

#[tokio::test]
async fn live_testcard_is_served_and_cleaned_up_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut origin = Origin::start_with_env(
        &[
            "--testcard",
            "--renditions",
            "144p",
            "--segment-seconds",
            "1",
            "--window",
            "3",
        ],
        &[("TMPDIR", tmp.path())],
    );
    assert_eq!(testcard_dirs(tmp.path()).len(), 1, "one test card folder");

    let master = fetch_when(&origin, "/live/master.m3u8", |_| true).await;
    let Ok((_, Playlist::MasterPlaylist(master))) = m3u8_rs::parse_playlist(&master) else {
        panic!("not a master playlist");
    };
    let media_path = format!("/live/{}", master.variants[0].uri);
    let media = fetch_when(
        &origin,
        &media_path,
        |body| matches!(m3u8_rs::parse_media_playlist(body), Ok((_, m)) if !m.segments.is_empty()),
    )
    .await;
    let (_, media) = m3u8_rs::parse_media_playlist(&media).unwrap();
    let rendition = media_path.rsplit_once('/').unwrap().0;
    let segment = format!("{rendition}/{}", media.segments[0].uri);
    let res = reqwest::get(format!("{}{segment}", origin.url))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{segment}");
    assert_eq!(res.headers()["content-type"], "video/mp2t");
    let body = res.bytes().await.unwrap();
    assert_eq!(body.first(), Some(&0x47), "an MPEG-TS segment");
    check_digests_while_live(&origin, &media_path).await;

    let exit = origin.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit}");
    assert!(
        testcard_dirs(tmp.path()).is_empty(),
        "test card folder left behind"
    );
    let group = Command::new("pgrep")
        .args(["-g", &origin.pid().to_string()])
        .output()
        .unwrap();
    assert!(
        group.stdout.is_empty(),
        "processes left: {}",
        String::from_utf8_lossy(&group.stdout)
    );
}

/// The test card's stream flags pass through `--testcard`: an alternate audio
/// rendition and AES-128, whose key the origin serves where the playlists say.
#[tokio::test]
async fn testcard_shapes_pass_through_and_the_key_is_served() {
    let mut origin = Origin::start(&[
        "--testcard",
        "--renditions",
        "144p",
        "--segment-seconds",
        "1",
        "--alt-audio",
        "--aes128",
    ]);
    let master = fetch_when(&origin, "/live/master.m3u8", |_| true).await;
    let Ok((_, Playlist::MasterPlaylist(master))) = m3u8_rs::parse_playlist(&master) else {
        panic!("not a master playlist");
    };
    let audio = master.alternatives[0].uri.clone().expect("EXT-X-MEDIA URI");
    assert_eq!(audio, "audio/stream.m3u8");
    let media = fetch_when(
        &origin,
        &format!("/live/{audio}"),
        |body| matches!(m3u8_rs::parse_media_playlist(body), Ok((_, m)) if !m.segments.is_empty()),
    )
    .await;
    let (_, media) = m3u8_rs::parse_media_playlist(&media).unwrap();
    let key_uri = media.segments[0].key.as_ref().unwrap().uri.clone().unwrap();
    assert_eq!(key_uri, "../enc.key");
    // Relative to /live/audio/stream.m3u8.
    let res = reqwest::get(format!("{}/live/enc.key", origin.url))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), 16, "an AES-128 key");
    assert!(origin.terminate(Duration::from_secs(10)).success());
}
