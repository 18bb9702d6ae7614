//! SHA-256 of byte ranges of an open file, each range read once in
//! fixed-size chunks so a large single-file VOD never sits in memory.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::ops::Range;

use sha2::{Digest, Sha256};

const CHUNK: usize = 64 * 1024;

/// The digest of each range, in order, and the bytes read. A range past
/// the end of the file is an `UnexpectedEof` error.
pub fn hash_ranges(file: &mut File, ranges: &[Range<u64>]) -> std::io::Result<Vec<[u8; 32]>> {
    let mut buf = vec![0; CHUNK];
    let mut digests = Vec::with_capacity(ranges.len());
    let mut position = None;
    for range in ranges {
        if position != Some(range.start) {
            file.seek(SeekFrom::Start(range.start))?;
        }
        let mut hasher = Sha256::new();
        let mut left = range.end.saturating_sub(range.start);
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                return Err(ErrorKind::UnexpectedEof.into());
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        position = Some(range.end);
        digests.push(hasher.finalize().into());
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn ranges_and_whole_files() {
        let mut tmp = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        tmp.write_all(&data).unwrap();
        let ranges = [0..200_000, 10..20, 100_000..170_000, 5..5];
        let got = hash_ranges(&mut tmp, &ranges).unwrap();
        for (range, digest) in ranges.iter().zip(got) {
            let want: [u8; 32] =
                Sha256::digest(&data[range.start as usize..range.end as usize]).into();
            assert_eq!(digest, want, "{range:?}");
        }
        let past_the_end = [Range {
            start: 199_000,
            end: 200_001,
        }];
        let err = hash_ranges(&mut tmp, &past_the_end).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    }
}
