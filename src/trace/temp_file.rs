//! Temporary files for finishing a trace: written under a fresh name, then
//! renamed onto the trace (a reader never sees half of one) or removed.
//!
//! By hand rather than with the `tempfile` crate, which would bring its
//! platform crates (rustix, fastrand, …) into every program built with the
//! library; the library needs only a fresh name and a rename.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file under a name no one else uses, removed when dropped unless
/// [`persist`](TempFile::persist)ed.
pub(crate) struct TempFile {
    path: PathBuf,
    file: File,
    /// Set once renamed: there is nothing left to remove.
    persisted: bool,
}

impl TempFile {
    /// Creates a new empty file in `dir`. Names are `.lockcheck-PID-N.tmp`;
    /// `create_new` refuses a name that exists, so a name left behind by a
    /// killed process is skipped, never reused.
    pub(crate) fn new_in(dir: &Path) -> io::Result<TempFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        let mut last = None;
        // A bounded number of tries: names collide only with leftovers of
        // an earlier process that had the same pid.
        for _ in 0..64 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".lockcheck-{pid}-{n}.tmp"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file,
                        persisted: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, for writing.
    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Flushes the file to disk and renames it onto `to` (an open file can
    /// be renamed on the platforms lockcheck runs on; the handle closes when
    /// `self` drops).
    pub(crate) fn persist(mut self, to: &Path) -> io::Result<()> {
        self.file.sync_all()?;
        std::fs::rename(&self.path, to)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_persisted_file_has_its_content_under_the_new_name_and_a_dropped_one_is_gone() {
        let dir = std::env::temp_dir().join(format!("lockcheck-temp-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut kept = TempFile::new_in(&dir).unwrap();
        kept.file().write_all(b"trace").unwrap();
        let target = dir.join("out.trace");
        kept.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"trace");

        let dropped = TempFile::new_in(&dir).unwrap();
        let path = dropped.path().to_owned();
        assert!(path.exists());
        drop(dropped);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
