//! Signed request letters (surat permintaan): checked to be PDFs by their
//! bytes, stored under their SHA-256 so the name is never the uploader's.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::ServiceError;
use crate::model::Letter;

/// Largest letter accepted.
pub const MAX_LETTER_BYTES: usize = 10 * 1024 * 1024;

/// The directory letters live in.
#[derive(Debug, Clone)]
pub struct LetterStore {
    dir: PathBuf,
}

impl LetterStore {
    /// Letters under `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Checks and stores a letter; storing the same bytes twice is a no-op.
    ///
    /// Written to a temporary file, synced, then renamed, so a crash never
    /// leaves a partial letter under its final name.
    pub fn save(&self, bytes: &[u8]) -> Result<Letter, ServiceError> {
        check_pdf(bytes)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256);
        if !path.exists() {
            std::fs::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            tmp.write_all(bytes)?;
            tmp.as_file().sync_all()?;
            tmp.persist(&path).map_err(|e| e.error)?;
        }
        Ok(Letter {
            sha256,
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        })
    }

    /// The bytes of a stored letter.
    pub fn read(&self, letter: &Letter) -> Result<Vec<u8>, ServiceError> {
        if !is_hex_digest(&letter.sha256) {
            return Err(ServiceError::NotFound("letter"));
        }
        match std::fs::read(self.path_of(&letter.sha256)) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ServiceError::NotFound("letter"))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.pdf"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn is_hex_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A PDF starts with `%PDF-` within its first 1024 bytes (ISO 32000-2
/// §7.5.2 allows leading bytes; readers look there) and ends with `%%EOF`
/// in its last 1024 bytes (§7.5.5, trailing whitespace allowed).
fn check_pdf(bytes: &[u8]) -> Result<(), ServiceError> {
    let bad = |message: &str| ServiceError::UnsupportedMedia {
        field: "letter".to_owned(),
        message: message.to_owned(),
    };
    if bytes.is_empty() {
        return Err(ServiceError::invalid("letter", "is empty"));
    }
    if bytes.len() > MAX_LETTER_BYTES {
        return Err(ServiceError::TooLarge {
            field: "letter".to_owned(),
            limit: MAX_LETTER_BYTES,
        });
    }
    let head = &bytes[..bytes.len().min(1024)];
    if !contains(head, b"%PDF-") {
        return Err(bad("is not a PDF (no %PDF- header)"));
    }
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !contains(tail, b"%%EOF") {
        return Err(bad("is not a complete PDF (no %%EOF trailer)"));
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

    #[test]
    fn stores_by_hash_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = LetterStore::new(dir.path().join("letters"));
        let letter = store.save(PDF).unwrap();
        assert_eq!(letter.size, PDF.len() as i64);
        assert_eq!(store.read(&letter).unwrap(), PDF);
        assert_eq!(store.save(PDF).unwrap(), letter);
    }

    #[test]
    fn refuses_what_is_not_a_pdf() {
        let dir = tempfile::tempdir().unwrap();
        let store = LetterStore::new(dir.path());
        assert!(matches!(
            store.save(b"GIF89a...."),
            Err(ServiceError::UnsupportedMedia { .. })
        ));
        assert!(matches!(
            store.save(b"%PDF-1.4 truncated"),
            Err(ServiceError::UnsupportedMedia { .. })
        ));
        assert!(matches!(store.save(b""), Err(ServiceError::Invalid { .. })));
        let mut big = PDF.to_vec();
        big.resize(MAX_LETTER_BYTES + 1, b' ');
        assert!(matches!(
            store.save(&big),
            Err(ServiceError::TooLarge { .. })
        ));
        let fake = Letter {
            sha256: "../../etc/passwd".into(),
            size: 1,
        };
        assert!(matches!(store.read(&fake), Err(ServiceError::NotFound(_))));
    }
}
