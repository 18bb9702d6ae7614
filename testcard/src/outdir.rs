//! The folder a live test card writes into, removed again when the test card
//! stops: a fresh temporary folder, or a given one, of which only what we
//! created is removed.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::command::MASTER_PLAYLIST;
use crate::{Rendition, TestcardError};

#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Removed with everything in it (TempDir's own Drop does it).
    Temporary { _dir: TempDir },
    /// Created by us: removed with everything in it.
    Created,
    /// Existed before: only the playlist and rendition folders are removed.
    Existing(Vec<Rendition>),
}

impl OutputDir {
    /// `out`, created if missing; a new temporary folder when `None`.
    pub fn create(out: Option<&Path>, ladder: &[Rendition]) -> Result<Self, TestcardError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TestcardError::OutputDir { path, source }
        };
        let Some(out) = out else {
            let tmp = tempfile::Builder::new()
                .prefix("swarmcast-testcard-")
                .tempdir()
                .map_err(io_err(&std::env::temp_dir()))?;
            return Ok(Self {
                path: tmp.path().to_path_buf(),
                kind: Kind::Temporary { _dir: tmp },
            });
        };
        let kind = if out.exists() {
            Kind::Existing(ladder.to_vec())
        } else {
            fs::create_dir_all(out).map_err(io_err(out))?;
            Kind::Created
        };
        Ok(Self {
            path: out.to_path_buf(),
            kind,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        let result = match &self.kind {
            Kind::Temporary { .. } => Ok(()),
            Kind::Created => fs::remove_dir_all(&self.path),
            Kind::Existing(ladder) => {
                let _ = fs::remove_file(self.path.join(MASTER_PLAYLIST));
                ladder
                    .iter()
                    .map(|r| self.path.join(r.to_string()))
                    .filter(|dir| dir.exists())
                    .try_for_each(fs::remove_dir_all)
            }
        };
        match result {
            Ok(()) => tracing::debug!(path = %self.path.display(), "test card output removed"),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), "could not remove test card output: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_created_folder_but_only_our_files_in_an_existing_one() {
        let parent = tempfile::tempdir().unwrap();
        let ladder = ["360p".parse().unwrap()];

        let created = parent.path().join("new");
        drop(OutputDir::create(Some(&created), &ladder).unwrap());
        assert!(!created.exists());

        let existing = parent.path().join("existing");
        fs::create_dir_all(existing.join("360p")).unwrap();
        fs::write(existing.join("master.m3u8"), "").unwrap();
        fs::write(existing.join("keep.txt"), "").unwrap();
        drop(OutputDir::create(Some(&existing), &ladder).unwrap());
        assert!(existing.join("keep.txt").exists());
        assert!(!existing.join("360p").exists() && !existing.join("master.m3u8").exists());

        let tmp = OutputDir::create(None, &ladder).unwrap();
        let path = tmp.path().to_path_buf();
        assert!(path.is_dir());
        drop(tmp);
        assert!(!path.exists());
    }
}
