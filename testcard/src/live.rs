//! A live test card: ffmpeg kept running under supervision (restarted with
//! backoff if it dies), and its folder removed when the test card stops.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::command::{ffmpeg_args, Mode, MASTER_PLAYLIST};
use crate::encryption;
use crate::ffmpeg::{self, Running};
use crate::outdir::OutputDir;
use crate::{StreamOptions, TestcardError};

/// A running live test card. Dropping it stops ffmpeg and removes the folder
/// soon after; [`LiveTestcard::stop`] does the same and waits for it.
pub struct LiveTestcard {
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LiveTestcard {
    /// Starts ffmpeg writing into `out` (a new temporary folder when `None`).
    /// Fails at once if ffmpeg is missing; later crashes are restarted.
    pub async fn start(options: StreamOptions, out: Option<&Path>) -> Result<Self, TestcardError> {
        ffmpeg::ensure_installed(&options.ffmpeg).await?;
        let dir = OutputDir::create(out, options.outputs())?;
        let path = dir.path().to_path_buf();
        if options.aes128 {
            encryption::write_key(&path)?;
        }
        let first = Running::spawn(
            &options.ffmpeg,
            ffmpeg_args(&options, Mode::Live { resume: false }, &path),
        )?;
        tracing::info!(dir = %path.display(), renditions = ?options.ladder().iter().map(ToString::to_string).collect::<Vec<_>>(), "live test card started");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(supervise(options, dir, first, stopped));
        Ok(Self {
            dir: path,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The folder holding `master.m3u8` and one folder per rendition.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn master_playlist(&self) -> PathBuf {
        self.dir.join(MASTER_PLAYLIST)
    }

    /// Kills ffmpeg and removes the folder; returns once both are done.
    pub async fn stop(mut self) {
        self.stop.take().map(|s| s.send(()));
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LiveTestcard {
    fn drop(&mut self) {
        // Without an explicit stop, the closed channel stops the supervisor;
        // if the runtime is shutting down, dropping the task has the same effect.
        self.stop.take().map(|s| s.send(()));
    }
}

/// Restarts ffmpeg whenever it exits, until told to stop. `dir` is dropped
/// (and so removed) only after ffmpeg is gone.
async fn supervise(
    options: StreamOptions,
    dir: OutputDir,
    first: Running,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = Backoff::default();
    let mut running = Some(first);
    loop {
        let started = Instant::now();
        if let Some(mut ffmpeg) = running.take() {
            tokio::select! {
                _ = &mut stop => {
                    ffmpeg.kill().await;
                    break;
                }
                exit = ffmpeg.wait() => match exit {
                    Ok((status, stderr)) if stderr.is_empty() => tracing::warn!("ffmpeg exited ({status})"),
                    Ok((status, stderr)) => tracing::warn!("ffmpeg exited ({status}): {stderr}"),
                    Err(e) => tracing::warn!("lost track of ffmpeg: {e}"),
                },
            }
        }
        let delay = backoff.after_run(started.elapsed());
        tracing::warn!("restarting ffmpeg in {delay:?}");
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(delay) => {}
        }
        let args = ffmpeg_args(&options, Mode::Live { resume: true }, dir.path());
        match Running::spawn(&options.ffmpeg, args) {
            Ok(ffmpeg) => {
                tracing::info!("ffmpeg restarted");
                running = Some(ffmpeg);
            }
            Err(e) => tracing::error!("{e}"),
        }
    }
    drop(dir);
    tracing::info!("live test card stopped");
}
