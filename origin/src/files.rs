//! Reads a file for a response in one trip to the blocking thread pool:
//! open, stat, decide (via `conditional`), and read only the bytes needed.
//! Files are answered from memory; HLS segments are small.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use warp::http::HeaderMap;

use crate::conditional::{plan, Plan, Validators};

/// Served for a folder.
const INDEX: &str = "index.html";

#[derive(Debug)]
pub struct Loaded {
    /// The file actually read (`index.html` for a folder).
    pub path: PathBuf,
    pub validators: Validators,
    pub plan: Plan,
    /// The planned bytes; empty for HEAD, 304 and 416.
    pub body: Bytes,
}

/// `Ok(None)` when there is no such file.
pub async fn load(
    path: PathBuf,
    headers: HeaderMap,
    with_body: bool,
) -> std::io::Result<Option<Loaded>> {
    tokio::task::spawn_blocking(move || load_blocking(path, &headers, with_body))
        .await
        .map_err(std::io::Error::other)?
}

fn load_blocking(
    path: PathBuf,
    headers: &HeaderMap,
    with_body: bool,
) -> std::io::Result<Option<Loaded>> {
    let Some((path, mut file, meta)) = open(path)? else {
        return Ok(None);
    };
    let validators = Validators::new(meta.len(), meta.modified()?);
    let plan = plan(headers, &validators);
    let range = match (&plan, with_body) {
        (Plan::Full, true) => 0..validators.len,
        (Plan::Partial(r), true) => r.clone(),
        _ => 0..0,
    };
    let mut body = vec![0; (range.end - range.start) as usize];
    if !body.is_empty() {
        file.seek(SeekFrom::Start(range.start))?;
        file.read_exact(&mut body)?;
    }
    Ok(Some(Loaded {
        path,
        validators,
        plan,
        body: body.into(),
    }))
}

/// Opens a file, or a folder's index; `None` if neither exists.
fn open(path: PathBuf) -> std::io::Result<Option<(PathBuf, File, std::fs::Metadata)>> {
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

fn open_file(path: &Path) -> std::io::Result<Option<(File, std::fs::Metadata)>> {
    match File::open(path) {
        Ok(file) => {
            let meta = file.metadata()?;
            Ok(Some((file, meta)))
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(None),
        Err(e) => Err(e),
    }
}
