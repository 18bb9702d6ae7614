//! The file cache never serves a stale file: rewritten in place (same length,
//! mtime put back), replaced by rename, deleted, or changed while being
//! requested. Each test runs the real binary on its own folder.

mod support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use support::{raw_get, Origin};

/// Past the cache's settle time, so the next read is kept in memory.
const SETTLE: Duration = Duration::from_millis(80);

/// A live playlist whose length does not depend on `k`.
fn version(k: u32) -> String {
    format!("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:{k:08}\n")
}

fn sequence(body: &str) -> u32 {
    body.trim_end()
        .rsplit(':')
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("not a version: {body:?}"))
}

fn get(origin: &Origin, path: &str) -> (u16, String) {
    let (status, text) = raw_get(&origin.addr, path);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

fn cache_hits(origin: &Origin) -> u64 {
    let (_, text) = get(origin, "/metrics");
    let line = r#"swarmcast_origin_file_cache_lookups_total{result="hit"} "#;
    text.lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no cache hit counter in\n{text}"))
}

fn serve(dir: &Path, extra: &[&str]) -> Origin {
    let root = dir.display().to_string();
    let mut args = vec!["--root", &root];
    args.extend(extra);
    Origin::start(&args)
}

fn replace(dir: &Path, name: &str, data: &str, mtime: SystemTime) {
    let tmp = dir.join("next.tmp");
    fs::write(&tmp, data).unwrap();
    fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::rename(tmp, dir.join(name)).unwrap();
}

#[test]
fn in_place_rewrites_are_served_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("stream.m3u8");
    fs::write(&file, version(0)).unwrap();
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();
    let origin = serve(tmp.path(), &[]);
    for k in 1..=15 {
        // Same length and the same mtime: only the content and ctime change.
        let mut f = OpenOptions::new().write(true).open(&file).unwrap();
        f.write_all(version(k).as_bytes()).unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(k)), "fresh");
        std::thread::sleep(SETTLE);
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(k)), "kept");
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(k)), "hit");
    }
    assert!(cache_hits(&origin) >= 15, "the cache was used");
}

#[test]
fn replaced_deleted_and_recreated_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mtime = SystemTime::now() - Duration::from_secs(60);
    replace(dir, "stream.m3u8", &version(1), mtime);
    for cache in ["256", "0"] {
        let origin = serve(dir, &["--cache-mb", cache]);
        replace(dir, "stream.m3u8", &version(1), mtime);
        std::thread::sleep(SETTLE);
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(1)));
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(1)));

        // Same length and mtime, new inode.
        replace(dir, "stream.m3u8", &version(2), mtime);
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(2)));

        fs::remove_file(dir.join("stream.m3u8")).unwrap();
        assert_eq!(get(&origin, "/stream.m3u8").0, 404);

        replace(dir, "stream.m3u8", &version(3), mtime);
        assert_eq!(get(&origin, "/stream.m3u8"), (200, version(3)));
    }
}

/// A playlist replaced every few milliseconds, sometimes resting long enough
/// to be cached: no response may be older than the last finished write.
#[test]
fn a_playlist_changing_under_load_is_never_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mtime = SystemTime::now() - Duration::from_secs(60);
    replace(&dir, "stream.m3u8", &version(0), mtime);
    let origin = serve(&dir, &[]);
    let written = AtomicU32::new(0);
    let until = Instant::now() + Duration::from_millis(1500);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 0;
            while Instant::now() < until {
                k += 1;
                replace(&dir, "stream.m3u8", &version(k), mtime);
                written.store(k, Ordering::SeqCst);
                let rest = if k % 4 == 0 {
                    SETTLE
                } else {
                    Duration::from_millis(2)
                };
                std::thread::sleep(rest);
            }
        });
        let mut last = 0;
        while Instant::now() < until {
            let before = written.load(Ordering::SeqCst);
            let (status, body) = get(&origin, "/stream.m3u8");
            assert_eq!(status, 200);
            let got = sequence(&body);
            assert!(
                got >= before,
                "served version {got} after {before} was written"
            );
            assert!(got >= last, "served version {got} after {last}");
            last = got;
        }
    });
    assert!(cache_hits(&origin) > 0, "the cache was used");
}
