//! Runs one ffmpeg process: reports a missing ffmpeg clearly, forwards its
//! stderr to tracing, and kills it when dropped so no encoder outlives us.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

use crate::TestcardError;

/// Lines of ffmpeg's stderr kept to explain a failure.
const STDERR_TAIL_LINES: usize = 12;

/// Fails with [`TestcardError::FfmpegMissing`] unless `ffmpeg -version` runs.
pub async fn ensure_installed(ffmpeg: &Path) -> Result<(), TestcardError> {
    let status = Command::new(ffmpeg)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => Err(TestcardError::FfmpegMissing(ffmpeg.to_path_buf())),
        Err(e) => Err(spawn_error(ffmpeg, e)),
    }
}

fn spawn_error(ffmpeg: &Path, source: std::io::Error) -> TestcardError {
    match source.kind() {
        ErrorKind::NotFound | ErrorKind::PermissionDenied => {
            TestcardError::FfmpegMissing(ffmpeg.to_path_buf())
        }
        _ => TestcardError::Spawn {
            path: ffmpeg.to_path_buf(),
            source,
        },
    }
}

/// A running ffmpeg. Dropping it kills the process.
pub struct Running {
    child: Child,
    stderr: JoinHandle<String>,
}

impl Running {
    pub fn spawn(ffmpeg: &Path, args: Vec<OsString>) -> Result<Self, TestcardError> {
        let mut child = Command::new(ffmpeg)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error(ffmpeg, e))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        tracing::debug!(pid = child.id(), "ffmpeg started");
        Ok(Self {
            child,
            stderr: tokio::spawn(forward_stderr(stderr)),
        })
    }

    /// Waits for ffmpeg to exit; returns its status and last stderr lines.
    pub async fn wait(&mut self) -> Result<(ExitStatus, String), std::io::Error> {
        let status = self.child.wait().await?;
        let tail = (&mut self.stderr).await.unwrap_or_default();
        Ok((status, tail))
    }

    /// Kills ffmpeg and reaps it.
    pub async fn kill(mut self) {
        if let Err(e) = self.child.kill().await {
            tracing::warn!("could not kill ffmpeg: {e}");
        }
    }
}

/// Logs every stderr line (ffmpeg runs at `-loglevel warning`, so each line
/// matters) and returns the last few for error messages.
async fn forward_stderr(stderr: ChildStderr) -> String {
    let mut lines = BufReader::new(stderr).lines();
    let mut tail = VecDeque::with_capacity(STDERR_TAIL_LINES);
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::warn!(target: "ffmpeg", "{line}");
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    Vec::from(tail).join("\n")
}
