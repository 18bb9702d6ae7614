//! The AES-128 key of an encrypted test card: a random key written beside
//! the master playlist (so the origin serves it), and the key info file that
//! tells ffmpeg where it is and what URI to write into EXT-X-KEY.

use std::fs;
use std::path::Path;

use crate::TestcardError;

/// The key, served beside `master.m3u8`.
pub const KEY_FILE: &str = "enc.key";
/// ffmpeg's `-hls_key_info_file`: the key's URI, then its path on disk.
pub const KEY_INFO_FILE: &str = "enc.keyinfo";
/// The key's URI as seen from a media playlist, which sits one folder down.
const KEY_URI: &str = "../enc.key";

/// Writes a fresh random key and its key info file into `out`. A restarted
/// live ffmpeg reuses them, so segments before and after a crash share a key.
pub fn write_key(out: &Path) -> Result<(), TestcardError> {
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).map_err(TestcardError::Key)?;
    let key_path = out.join(KEY_FILE);
    fs::write(&key_path, key).map_err(TestcardError::output_dir(&key_path))?;
    // ffmpeg opens the key path relative to its own working directory.
    let key_path = std::path::absolute(&key_path).map_err(TestcardError::output_dir(&key_path))?;
    let mut info = format!("{KEY_URI}\n").into_bytes();
    info.extend(key_path.as_os_str().as_encoded_bytes());
    info.push(b'\n');
    let info_path = out.join(KEY_INFO_FILE);
    fs::write(&info_path, info).map_err(TestcardError::output_dir(&info_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_random_key_and_an_info_file_pointing_at_it() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path()).unwrap();
        let key = fs::read(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(key.len(), 16);
        let info = fs::read_to_string(dir.path().join(KEY_INFO_FILE)).unwrap();
        let lines: Vec<_> = info.lines().collect();
        assert_eq!(lines[0], "../enc.key");
        assert_eq!(fs::read(lines[1]).unwrap(), key);

        write_key(dir.path()).unwrap();
        assert_ne!(
            fs::read(dir.path().join(KEY_FILE)).unwrap(),
            key,
            "a new key each time"
        );
    }
}
