//! Why a test card could not be produced, worded for the person running it.

use std::path::PathBuf;
use std::process::ExitStatus;

#[derive(Debug, thiserror::Error)]
pub enum TestcardError {
    #[error(
        "ffmpeg not found (tried `{}`). Install it with `sudo apt-get install ffmpeg` \
         (Debian/Ubuntu; `make setup` does this) or `brew install ffmpeg` (macOS), \
         or point --ffmpeg / SWARMCAST_FFMPEG at an ffmpeg executable",
        .0.display()
    )]
    FfmpegMissing(PathBuf),

    #[error("could not run `{}`: {source}", path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("ffmpeg failed ({status}): {stderr}")]
    FfmpegFailed { status: ExitStatus, stderr: String },

    #[error("output folder {}: {source}", path.display())]
    OutputDir {
        path: PathBuf,
        source: std::io::Error,
    },
}
