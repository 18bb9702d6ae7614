//! Published digests over real HTTP: every digest in a served playlist is
//! the SHA-256 of the bytes the origin serves for that segment, byte range
//! or init segment (TS, fMP4, byte ranges); a rewritten segment gets a new
//! digest; a missing or growing segment never gets a wrong one; folders
//! without the option are served byte for byte; repeated and live requests
//! hash nothing twice; and `swarmcast-digest` writes the same digests into
//! a folder, idempotently. Checked against the real binaries.

mod support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use support::claims::{claims, sha_hex, TAG};
use support::{raw_get, Origin};

/// Past the settle time, after which a file's digest may be published.
const SETTLE: Duration = Duration::from_millis(80);

/// Deterministic bytes that differ per seed.
fn bytes(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed * 7) % 251) as u8)
        .collect()
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// TS, fMP4 and byte-range (fMP4, single file) renditions, and a master playlist.
fn fixture(root: &Path) {
    write(
        root,
        "master.m3u8",
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nts/stream.m3u8\n",
    );
    let mut ts = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n");
    for i in 1..=3 {
        write(
            root,
            &format!("ts/seg_{i}.ts"),
            &bytes(i, 1000 + i as usize * 100),
        );
        ts += &format!("#EXTINF:2.0,\nseg_{i}.ts\n");
    }
    write(root, "ts/stream.m3u8", ts.as_bytes());

    let mut fmp4 = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"init.mp4\"\n");
    write(root, "fmp4/init.mp4", &bytes(9, 700));
    for i in 1..=2 {
        write(root, &format!("fmp4/seg_{i}.m4s"), &bytes(10 + i, 3000));
        fmp4 += &format!("#EXTINF:2.0,\nseg_{i}.m4s\n");
    }
    fmp4 += "#EXT-X-ENDLIST\n";
    write(root, "fmp4/stream.m3u8", fmp4.as_bytes());

    write(root, "br/main.mp4", &bytes(20, 10_000));
    write(
        root,
        "br/stream.m3u8",
        b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"main.mp4\",BYTERANGE=\"600@0\"\n\
          #EXTINF:2.0,\n#EXT-X-BYTERANGE:3000@600\nmain.mp4\n\
          #EXTINF:2.0,\n#EXT-X-BYTERANGE:2500\nmain.mp4\n\
          #EXTINF:2.0,\n#EXT-X-BYTERANGE:3900@6100\nmain.mp4\n#EXT-X-ENDLIST\n",
    );
}

const MEDIA_PLAYLISTS: [&str; 3] = ["/ts/stream.m3u8", "/fmp4/stream.m3u8", "/br/stream.m3u8"];

fn get(addr: &str, path: &str, range: Option<(u64, u64)>) -> (u16, Vec<u8>) {
    let range = range.map_or(String::new(), |(start, end)| {
        format!("Range: bytes={start}-{}\r\n", end - 1)
    });
    let (status, text) = support::raw_request_bytes(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{range}Connection: close\r\n\r\n"),
    );
    (status, text)
}

fn get_text(origin: &Origin, path: &str) -> String {
    let (status, body) = get(&origin.addr, path, None);
    assert_eq!(status, 200, "{path}");
    String::from_utf8(body).unwrap()
}

/// Every claim of the playlist at `path` matches the bytes served for it;
/// returns (claims, segments).
fn verify(origin: &Origin, path: &str) -> (usize, usize) {
    let text = get_text(origin, path);
    let (claims, segments) = claims(path, &text);
    for c in &claims {
        let (status, body) = get(&origin.addr, &c.url_path, c.range);
        assert!(status == 200 || status == 206, "{c:?}: {status}");
        assert_eq!(sha_hex(&body), c.digest, "{c:?} in\n{text}");
    }
    (claims.len(), segments)
}

fn serve(root: &Path, extra: &[&str]) -> Origin {
    let root = root.display().to_string();
    let mut args = vec!["--root", &root];
    args.extend(extra);
    Origin::start(&args)
}

fn metric(origin: &Origin, line: &str) -> u64 {
    let (_, text) = raw_get(&origin.addr, "/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' '))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {line} in\n{text}"))
}

/// A live media playlist of `seg_1.ts` to `seg_{n}.ts`.
fn live_playlist(n: u32) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
    for i in 1..=n {
        text += &format!("#EXTINF:2.0,\nseg_{i}.ts\n");
    }
    text
}

const HASHED: &str = "swarmcast_origin_digest_hashed_bytes_total";
const KEPT: &str = r#"swarmcast_origin_digest_playlists_total{result="kept"}"#;

#[test]
fn digests_match_the_served_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    std::thread::sleep(SETTLE);
    let origin = serve(tmp.path(), &["--digests", "/"]);
    // TS: 3 segments; fMP4: init + 2; byte ranges: init + 3 ranges of one file.
    assert_eq!(verify(&origin, "/ts/stream.m3u8"), (3, 3));
    assert_eq!(verify(&origin, "/fmp4/stream.m3u8"), (3, 2));
    assert_eq!(verify(&origin, "/br/stream.m3u8"), (4, 3));
    // The multivariant playlist is served as it is.
    let master = fs::read_to_string(tmp.path().join("master.m3u8")).unwrap();
    assert_eq!(get_text(&origin, "/master.m3u8"), master);
}

#[test]
fn folders_without_the_option_are_served_as_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(&tmp.path().join("on"));
    fixture(&tmp.path().join("off"));
    std::thread::sleep(SETTLE);
    let on = format!("/on={}", tmp.path().join("on").display());
    let off = format!("/off={}", tmp.path().join("off").display());
    let origin = Origin::start(&["--mount", &on, "--mount", &off, "--digests", "/on"]);
    for path in MEDIA_PLAYLISTS {
        let file = fs::read_to_string(tmp.path().join(format!("off{path}"))).unwrap();
        assert_eq!(get_text(&origin, &format!("/off{path}")), file);
        assert!(get_text(&origin, &format!("/on{path}")).contains(TAG));
    }
    // The plain folders cost no hashing at all.
    let before = metric(&origin, HASHED);
    for path in MEDIA_PLAYLISTS {
        get_text(&origin, &format!("/off{path}"));
    }
    assert_eq!(metric(&origin, HASHED), before);
}

#[test]
fn each_segment_is_hashed_once_while_a_live_playlist_grows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "seg_1.ts", &bytes(1, 5000));
    write(dir, "seg_2.ts", &bytes(2, 6000));
    write(dir, "stream.m3u8", live_playlist(2).as_bytes());
    std::thread::sleep(SETTLE);
    let origin = serve(dir, &["--digests", "/"]);
    for _ in 0..5 {
        assert_eq!(verify(&origin, "/stream.m3u8"), (2, 2));
    }
    assert_eq!(metric(&origin, HASHED), 11_000, "each segment hashed once");
    assert!(metric(&origin, KEPT) >= 3, "repeats answered as built");

    write(dir, "seg_3.ts", &bytes(3, 7000));
    write(dir, "stream.m3u8", live_playlist(3).as_bytes());
    std::thread::sleep(SETTLE);
    for _ in 0..3 {
        assert_eq!(verify(&origin, "/stream.m3u8"), (3, 3));
    }
    assert_eq!(
        metric(&origin, HASHED),
        18_000,
        "only the new segment hashed"
    );
}

#[test]
fn a_playlist_asked_for_as_its_newest_segment_lands_lists_that_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "seg_1.ts", &bytes(1, 5000));
    write(dir, "stream.m3u8", live_playlist(1).as_bytes());
    std::thread::sleep(SETTLE);
    let origin = serve(dir, &["--digests", "/"]);
    assert_eq!(verify(&origin, "/stream.m3u8"), (1, 1));
    // As a live packager does: the segment, then at once the playlist that
    // lists it, and a player asking for that playlist the same moment.
    write(dir, "seg_2.ts", &bytes(2, 6000));
    write(dir, "stream.m3u8", live_playlist(2).as_bytes());
    assert_eq!(
        verify(&origin, "/stream.m3u8"),
        (2, 2),
        "the newest segment's digest too"
    );
}

#[test]
fn a_rewritten_segment_gets_a_new_digest() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    std::thread::sleep(SETTLE);
    let origin = serve(tmp.path(), &["--digests", "/"]);
    let digest_of_seg_2 = || {
        let text = get_text(&origin, "/ts/stream.m3u8");
        let (claims, _) = claims("/ts/stream.m3u8", &text);
        claims
            .into_iter()
            .find(|c| c.url_path.ends_with("seg_2.ts"))
            .map(|c| c.digest)
    };
    let seg = tmp.path().join("ts/seg_2.ts");
    let old = fs::read(&seg).unwrap();
    assert_eq!(digest_of_seg_2(), Some(sha_hex(&old)));

    // Same length, and the mtime put back: only the content and ctime change.
    let mtime = fs::metadata(&seg).unwrap().modified().unwrap();
    let new = bytes(99, old.len());
    let mut f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all(&new).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let fresh = digest_of_seg_2();
    assert_ne!(
        fresh,
        Some(sha_hex(&old)),
        "the old digest is never served again"
    );
    std::thread::sleep(SETTLE);
    assert_eq!(digest_of_seg_2(), Some(sha_hex(&new)));
    // And replaced by rename, as packagers do.
    let newer = bytes(100, 1234);
    write(tmp.path(), "ts/next.tmp", &newer);
    fs::rename(tmp.path().join("ts/next.tmp"), &seg).unwrap();
    assert_ne!(digest_of_seg_2(), Some(sha_hex(&new)));
    std::thread::sleep(SETTLE);
    assert_eq!(digest_of_seg_2(), Some(sha_hex(&newer)));
    verify(&origin, "/ts/stream.m3u8");
}

/// A VOD of more files than are checked on every request: a rewritten
/// segment's new digest is published within the recheck time (1 s).
#[test]
fn a_long_playlist_sees_a_rewritten_segment_within_a_second() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut text = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
    for i in 1..=100 {
        write(dir, &format!("seg_{i}.ts"), &bytes(i, 200));
        text += &format!("#EXTINF:2.0,\nseg_{i}.ts\n");
    }
    write(
        dir,
        "stream.m3u8",
        format!("{text}#EXT-X-ENDLIST\n").as_bytes(),
    );
    std::thread::sleep(SETTLE);
    let origin = serve(dir, &["--digests", "/"]);
    assert_eq!(verify(&origin, "/stream.m3u8"), (100, 100));
    assert_eq!(verify(&origin, "/stream.m3u8"), (100, 100));

    let new = bytes(1000, 300);
    write(dir, "seg_50.ts", &new);
    let rewritten = Instant::now();
    loop {
        let (claims, _) = claims("/stream.m3u8", &get_text(&origin, "/stream.m3u8"));
        if claims.iter().any(|c| c.digest == sha_hex(&new)) {
            break;
        }
        assert!(
            rewritten.elapsed() < Duration::from_millis(1500) + SETTLE,
            "the new digest is not published"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(verify(&origin, "/stream.m3u8"), (100, 100));
}

/// A playlist that lists a segment before it exists, and a writer that
/// appends to it in pauses (as a packager without temp files would): a
/// digest is left out rather than given for bytes that are not the ones served.
#[test]
fn missing_and_growing_segments_never_get_a_wrong_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    write(&dir, "seg_1.ts", &bytes(1, 2000));
    write(
        &dir,
        "stream.m3u8",
        b"#EXTM3U\n#EXTINF:2.0,\nseg_1.ts\n#EXTINF:2.0,\nseg_2.ts\n",
    );
    std::thread::sleep(SETTLE);
    let origin = serve(&dir, &["--digests", "/"]);
    assert_eq!(
        verify(&origin, "/stream.m3u8"),
        (1, 2),
        "no digest for a missing file"
    );

    let full = bytes(2, 64 * 1024);
    let version = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let checked = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("seg_2.ts"))
                .unwrap();
            for (i, chunk) in full.chunks(4096).enumerate() {
                // Counted before and after, so a reader sees any write that overlaps its checks.
                version.fetch_add(1, Ordering::SeqCst);
                f.write_all(chunk).unwrap();
                version.fetch_add(1, Ordering::SeqCst);
                // Some pauses outlast the settle time, so digests do get published.
                let pause = if i % 3 == 0 { 120 } else { 5 };
                std::thread::sleep(Duration::from_millis(pause));
            }
            done.store(1, Ordering::SeqCst);
        });
        while done.load(Ordering::SeqCst) == 0 {
            let before = version.load(Ordering::SeqCst);
            let text = get_text(&origin, "/stream.m3u8");
            let (claims, _) = claims("/stream.m3u8", &text);
            let Some(claim) = claims.iter().find(|c| c.url_path == "/seg_2.ts") else {
                continue;
            };
            let (_, body) = get(&origin.addr, "/seg_2.ts", None);
            if version.load(Ordering::SeqCst) == before {
                assert_eq!(claim.digest, sha_hex(&body), "a digest of other bytes");
                checked.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    std::thread::sleep(SETTLE);
    assert_eq!(verify(&origin, "/stream.m3u8"), (2, 2));
    assert!(
        checked.load(Ordering::SeqCst) > 0,
        "some digests were published meanwhile"
    );
}

fn digest_command(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_swarmcast-digest"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

/// Every file's bytes and mtime under `root`, to see what a run changed.
fn snapshot(root: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
    let mut files: Vec<_> = fs::read_dir(root)
        .unwrap()
        .flat_map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                snapshot(&path)
            } else {
                let mtime = fs::metadata(&path).unwrap().modified().unwrap();
                vec![(path.display().to_string(), fs::read(&path).unwrap(), mtime)]
            }
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_command_writes_the_same_digests_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fixture(root);
    let folder = root.display().to_string();
    let master = fs::read(root.join("master.m3u8")).unwrap();

    let (code, out, err) = digest_command(&["--check", &folder]);
    assert_eq!(code, 1, "stale before the first run: {out}{err}");
    let (code, out, err) = digest_command(&[&folder]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ts/stream.m3u8: updated: 3 digests"), "{out}");
    assert!(out.contains("br/stream.m3u8: updated: 4 digests"), "{out}");

    // A plain origin serves the written digests: they match the served bytes.
    let origin = serve(root, &[]);
    assert_eq!(verify(&origin, "/ts/stream.m3u8"), (3, 3));
    assert_eq!(verify(&origin, "/fmp4/stream.m3u8"), (3, 2));
    assert_eq!(verify(&origin, "/br/stream.m3u8"), (4, 3));
    assert_eq!(fs::read(root.join("master.m3u8")).unwrap(), master);

    // Idempotent: a second run writes nothing, and --check agrees.
    let before = snapshot(root);
    let (code, out, _) = digest_command(&[&folder]);
    assert_eq!(code, 0);
    assert!(
        out.contains("ts/stream.m3u8: up to date: 3 digests"),
        "{out}"
    );
    assert_eq!(snapshot(root), before, "nothing rewritten");
    assert_eq!(digest_command(&["--check", &folder]).0, 0);

    // A publishing origin computes the same text.
    let publishing = serve(root, &["--digests", "/"]);
    for path in MEDIA_PLAYLISTS {
        let file = fs::read_to_string(root.join(&path[1..])).unwrap();
        assert_eq!(get_text(&publishing, path), file, "{path}");
    }

    // A changed segment makes the playlist stale.
    write(root, "fmp4/seg_1.m4s", &bytes(77, 3000));
    let (code, out, _) = digest_command(&["--check", &folder]);
    assert_eq!(code, 1);
    assert!(out.contains("fmp4/stream.m3u8: stale"), "{out}");
}

#[test]
fn bad_flags_say_what_is_wrong() {
    let (code, _, err) = digest_command(&["/definitely/not/here"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`/definitely/not/here` is not a folder"),
        "{err}"
    );
    let (code, _, err) = digest_command(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("<FOLDER>"), "{err}");

    let origin = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_swarmcast-origin"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let tmp = tempfile::tempdir().unwrap();
    let mount = format!("/vod={}", tmp.path().display());
    let (code, err) = origin(&["--mount", &mount, "--digests", "/live"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--digests /live: no folder is served at /live (served: /vod)"),
        "{err}"
    );
    let (code, err) = origin(&["--mount", &mount, "--digests", "vod"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("must start with /"), "{err}");
}

#[test]
fn the_command_waits_for_fresh_files() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "seg_1.ts", &bytes(1, 100));
    write(
        tmp.path(),
        "stream.m3u8",
        b"#EXTM3U\n#EXTINF:2,\nseg_1.ts\n",
    );
    // Run at once: the segment is younger than the settle time.
    let started = Instant::now();
    let (code, out, err) = digest_command(&[&tmp.path().display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stream.m3u8: updated: 1 digests\n"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
