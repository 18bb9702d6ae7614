//! Why a test card could not be produced, worded for the person running it.

use std::path::{Path, PathBuf};
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

    #[error("could not make an AES-128 key: {0}")]
    Key(#[source] getrandom::Error),
}

impl TestcardError {
    /// Wraps an I/O error on `path`, inside the output folder, for `map_err`.
    pub(crate) fn output_dir(path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::OutputDir { path, source }
    }
}
