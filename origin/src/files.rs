//! Finds the bytes of a file for a response. A file whose copy in the cache
//! still matches costs one `stat` on the async thread (microseconds on a
//! local file system) and no copy; anything else takes one trip to the
//! blocking pool that opens, stats and reads it, and caches it if it may.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use warp::http::HeaderMap;

use crate::cache::{Cached, FileCache, Fingerprint};
use crate::conditional::{plan, Plan};
use crate::metrics::CacheCounters;
use crate::version::Version;

/// Served for a folder.
const INDEX: &str = "index.html";

#[derive(Debug)]
pub struct Loaded {
    pub version: Arc<Version>,
    pub plan: Plan,
    /// The planned bytes; empty for HEAD, 304 and 416.
    pub body: Bytes,
}

pub struct Files {
    cache: Option<Arc<FileCache>>,
    counters: CacheCounters,
}

impl Files {
    /// `cache` is `None` to read every request from disk.
    pub fn new(cache: Option<FileCache>, counters: CacheCounters) -> Self {
        Self {
            cache: cache.map(Arc::new),
            counters,
        }
    }

    /// `Ok(None)` when there is no such file.
    pub async fn load(
        &self,
        path: &Path,
        headers: &HeaderMap,
        with_body: bool,
    ) -> std::io::Result<Option<Loaded>> {
        let mut path = Cow::Borrowed(path);
        if let Some(cache) = &self.cache {
            let Some((file, meta)) = stat(&path)? else {
                cache.forget(&path);
                return Ok(None);
            };
            if let Some(hit) = cache.get(&file, &meta) {
                self.counters.hit.inc();
                return Ok(Some(answer(&hit.version, &hit.body, headers, with_body)));
            }
            self.counters.miss.inc();
            // Already resolved to the folder's index, if it was a folder.
            path = Cow::Owned(file.into_owned());
        }
        let (cache, path, headers) = (self.cache.clone(), path.into_owned(), headers.clone());
        tokio::task::spawn_blocking(move || read(cache.as_deref(), path, &headers, with_body))
            .await
            .map_err(std::io::Error::other)?
    }

    /// The whole file (or folder index), from the cache if it still matches.
    pub async fn whole(&self, path: &Path) -> std::io::Result<Option<Whole>> {
        if let Some(cache) = &self.cache {
            let Some((file, meta)) = stat(path)? else {
                cache.forget(path);
                return Ok(None);
            };
            if let Some(hit) = cache.get(&file, &meta) {
                self.counters.hit.inc();
                return Ok(Some(Whole {
                    file: hit,
                    kept: true,
                }));
            }
            self.counters.miss.inc();
        }
        let (cache, path) = (self.cache.clone(), path.to_path_buf());
        tokio::task::spawn_blocking(move || read_whole(cache.as_deref(), path))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// A whole file as [`Files::whole`] found it.
pub struct Whole {
    pub file: Arc<Cached>,
    /// Whether this copy is kept in the cache: only then is it settled, i.e.
    /// sure to get a new fingerprint with any later change.
    pub kept: bool,
}

/// On the blocking pool: the whole file, kept in the cache if it may be.
fn read_whole(cache: Option<&FileCache>, path: PathBuf) -> std::io::Result<Option<Whole>> {
    let Some(mut opened) = Opened::open(path)? else {
        return Ok(None);
    };
    let body = read_range(&mut opened.file, 0..opened.meta.len())?;
    let file = Arc::new(Cached {
        fingerprint: Fingerprint::of(&opened.meta),
        version: opened.version,
        body,
    });
    let kept = cache.is_some_and(|c| c.admits(&file.fingerprint, opened.now));
    if let (true, Some(cache)) = (kept, cache) {
        cache.insert(opened.path, file.clone());
    }
    Ok(Some(Whole { file, kept }))
}

/// A file opened for a response, with what identifies its version.
struct Opened {
    path: PathBuf,
    file: File,
    meta: Metadata,
    version: Arc<Version>,
    /// Taken before the stat, so the settle rule holds for writes during the read.
    now: SystemTime,
}

impl Opened {
    fn open(path: PathBuf) -> std::io::Result<Option<Self>> {
        let now = SystemTime::now();
        let Some((path, file, meta)) = open(path)? else {
            return Ok(None);
        };
        let version = Arc::new(Version::new(&path, meta.len(), meta.modified()?));
        Ok(Some(Self {
            path,
            file,
            meta,
            version,
            now,
        }))
    }
}

/// The planned part of a whole file held in memory (a zero-copy slice).
pub fn answer(
    version: &Arc<Version>,
    whole: &Bytes,
    headers: &HeaderMap,
    with_body: bool,
) -> Loaded {
    let plan = plan(headers, &version.validators);
    let body = match planned_bytes(&plan, with_body, version.validators.len) {
        Some(r) => whole.slice(r.start as usize..r.end as usize),
        None => Bytes::new(),
    };
    Loaded {
        version: version.clone(),
        plan,
        body,
    }
}

fn planned_bytes(plan: &Plan, with_body: bool, len: u64) -> Option<Range<u64>> {
    match (plan, with_body) {
        (Plan::Full, true) => Some(0..len),
        (Plan::Partial(r), true) => Some(r.clone()),
        _ => None,
    }
}

/// On the blocking pool: the whole file when it may be cached, otherwise
/// only the planned bytes.
fn read(
    cache: Option<&FileCache>,
    path: PathBuf,
    headers: &HeaderMap,
    with_body: bool,
) -> std::io::Result<Option<Loaded>> {
    let Some(Opened {
        path,
        mut file,
        meta,
        version,
        now,
    }) = Opened::open(path)?
    else {
        return Ok(None);
    };
    let fingerprint = Fingerprint::of(&meta);
    if let Some(cache) = cache.filter(|c| c.admits(&fingerprint, now)) {
        let body = read_range(&mut file, 0..meta.len())?;
        let loaded = answer(&version, &body, headers, with_body);
        cache.insert(
            path,
            Arc::new(Cached {
                fingerprint,
                version,
                body,
            }),
        );
        return Ok(Some(loaded));
    }
    let plan = plan(headers, &version.validators);
    let body = match planned_bytes(&plan, with_body, meta.len()) {
        Some(r) => read_range(&mut file, r)?,
        None => Bytes::new(),
    };
    Ok(Some(Loaded {
        version,
        plan,
        body,
    }))
}

fn read_range(file: &mut File, range: Range<u64>) -> std::io::Result<Bytes> {
    let len = range.end - range.start;
    let mut body = Vec::with_capacity(len as usize);
    if len > 0 {
        file.seek(SeekFrom::Start(range.start))?;
        file.take(len).read_to_end(&mut body)?;
    }
    if body.len() as u64 != len {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    Ok(body.into())
}

/// The file (or folder index) a path names and its metadata; `None` if neither exists.
fn stat(path: &Path) -> std::io::Result<Option<(Cow<'_, Path>, Metadata)>> {
    let Some(meta) = absent_is_none(std::fs::metadata(path))? else {
        return Ok(None);
    };
    if !meta.is_dir() {
        return Ok(Some((Cow::Borrowed(path), meta)));
    }
    let index = path.join(INDEX);
    Ok(absent_is_none(std::fs::metadata(&index))?
        .filter(Metadata::is_file)
        .map(|m| (Cow::Owned(index), m)))
}

/// Opens a file, or a folder's index; `None` if neither exists.
fn open(path: PathBuf) -> std::io::Result<Option<(PathBuf, File, Metadata)>> {
    let Some((file, meta)) = open_file(&path)? else {
        return Ok(None);
    };
    if !meta.is_dir() {
        return Ok(Some((path, file, meta)));
    }
    let index = path.join(INDEX);
    Ok(open_file(&index)?
        .filter(|(_, m)| m.is_file())
        .map(|(f, m)| (index, f, m)))
}

fn open_file(path: &Path) -> std::io::Result<Option<(File, Metadata)>> {
    absent_is_none(File::open(path).and_then(|file| {
        let meta = file.metadata()?;
        Ok((file, meta))
    }))
}

fn absent_is_none<T>(result: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match result {
        Ok(t) => Ok(Some(t)),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(None),
        Err(e) => Err(e),
    }
}
