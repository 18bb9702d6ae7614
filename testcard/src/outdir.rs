//! The folder a live test card writes into, removed again when the test card
//! stops: a fresh temporary folder, or a given one, of which only what we
//! created is removed.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::TestcardError;

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
    /// Existed before: only these files and folders in it (the test card's
    /// own outputs) are removed.
    Existing(Vec<String>),
}

impl OutputDir {
    /// `out`, created if missing; a new temporary folder when `None`.
    /// `outputs` names what the test card writes at the top of the folder.
    pub fn create(out: Option<&Path>, outputs: Vec<String>) -> Result<Self, TestcardError> {
        let Some(out) = out else {
            let tmp = tempfile::Builder::new()
                .prefix("swarmcast-testcard-")
                .tempdir()
                .map_err(TestcardError::output_dir(&std::env::temp_dir()))?;
            return Ok(Self {
                path: tmp.path().to_path_buf(),
                kind: Kind::Temporary { _dir: tmp },
            });
        };
        let kind = if out.exists() {
            Kind::Existing(outputs)
        } else {
            fs::create_dir_all(out).map_err(TestcardError::output_dir(out))?;
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
            Kind::Existing(outputs) => outputs
                .iter()
                .map(|name| self.path.join(name))
                .filter(|path| path.exists())
                .try_for_each(|path| {
                    if path.is_dir() {
                        fs::remove_dir_all(path)
                    } else {
                        fs::remove_file(path)
                    }
                }),
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
        let outputs = || vec!["master.m3u8".to_string(), "360p".to_string()];

        let created = parent.path().join("new");
        drop(OutputDir::create(Some(&created), outputs()).unwrap());
        assert!(!created.exists());

        let existing = parent.path().join("existing");
        fs::create_dir_all(existing.join("360p")).unwrap();
        fs::write(existing.join("master.m3u8"), "").unwrap();
        fs::write(existing.join("keep.txt"), "").unwrap();
        drop(OutputDir::create(Some(&existing), outputs()).unwrap());
        assert!(existing.join("keep.txt").exists());
        assert!(!existing.join("360p").exists() && !existing.join("master.m3u8").exists());

        let tmp = OutputDir::create(None, outputs()).unwrap();
        let path = tmp.path().to_path_buf();
        assert!(path.is_dir());
        drop(tmp);
        assert!(!path.exists());
    }
}
