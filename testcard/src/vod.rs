//! A finished VOD test card: ffmpeg run once, unpaced, to completion.

use std::path::Path;

use crate::command::{ffmpeg_args, Mode};
use crate::ffmpeg::Running;
use crate::{StreamOptions, TestcardError};

/// Options of a VOD beyond the shared stream options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VodOptions {
    /// Length of the video.
    pub seconds: u32,
    /// One media file per rendition, addressed with EXT-X-BYTERANGE.
    pub byterange: bool,
}

/// Writes `master.m3u8` and one folder per rendition into `out` (created if
/// missing), each playlist ending with EXT-X-ENDLIST.
pub async fn generate_vod(
    options: &StreamOptions,
    vod: VodOptions,
    out: &Path,
) -> Result<(), TestcardError> {
    std::fs::create_dir_all(out).map_err(|source| TestcardError::OutputDir {
        path: out.to_path_buf(),
        source,
    })?;
    let mode = Mode::Vod {
        seconds: vod.seconds,
        byterange: vod.byterange,
    };
    let mut ffmpeg = Running::spawn(&options.ffmpeg, ffmpeg_args(options, mode, out))?;
    let (status, stderr) = ffmpeg.wait().await.map_err(|source| TestcardError::Spawn {
        path: options.ffmpeg.clone(),
        source,
    })?;
    if !status.success() {
        return Err(TestcardError::FfmpegFailed { status, stderr });
    }
    tracing::info!(out = %out.display(), seconds = vod.seconds, byterange = vod.byterange, "VOD test card written");
    Ok(())
}
