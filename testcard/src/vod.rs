//! A finished VOD test card: ffmpeg run once, unpaced, to completion.

use std::path::Path;

use crate::command::{ffmpeg_args, Mode};
use crate::encryption;
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
    std::fs::create_dir_all(out).map_err(TestcardError::output_dir(out))?;
    if options.aes128 {
        encryption::write_key(out)?;
    }
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
    if vod.byterange && options.aes128 {
        remove_leftover_copies(options, out);
    }
    tracing::info!(out = %out.display(), seconds = vod.seconds, byterange = vod.byterange, "VOD test card written");
    Ok(())
}

/// ffmpeg 5.1 leaves a copy of the last segment beside an encrypted single
/// file (`stream.ts.tmp`); it is no part of the stream.
fn remove_leftover_copies(options: &StreamOptions, out: &Path) {
    let name = format!("stream.{}.tmp", options.segment_format().extension());
    for folder in options.media_folders() {
        let _ = std::fs::remove_file(out.join(folder).join(&name));
    }
}
