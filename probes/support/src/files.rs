//! Opening a file a user named, without hanging on it.
//!
//! `open(2)` on a named pipe blocks until a writer appears, and reading a character device such
//! as `/dev/zero` or `/dev/urandom` never ends: either would hang a scheduled scan forever. A
//! spec, a waiver file, a saved observation, a token or a CA bundle is a regular file, so
//! anything else is refused up front with a message that says what it is. The check is a
//! `stat`, which never blocks; the small window between it and the `open` only matters if
//! someone swaps the path for a pipe on purpose, and then the reader's own size cap and the
//! scan's deadline still hold.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens `path` for reading if it is a regular file (after following links); a directory,
/// named pipe, socket or device is an error of kind `InvalidInput` naming what it is.
pub fn open_regular_file(path: &Path) -> io::Result<File> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, not_a_file(kind)));
    }
    File::open(path)
}

fn not_a_file(kind: std::fs::FileType) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "is a named pipe, not a file (reading it could wait forever); write it to a file first".into();
        }
        if kind.is_socket() {
            return "is a socket, not a file".into();
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "is a device, not a file".into();
        }
    }
    if kind.is_dir() {
        return "is a directory, not a file".into();
    }
    "is not a regular file".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_open() {
        let dir = std::env::temp_dir();
        let file = dir.join(format!("support-files-{}.txt", std::process::id()));
        std::fs::write(&file, b"x").expect("write");
        assert!(open_regular_file(&file).is_ok());
        let _ = std::fs::remove_file(&file);
        let err = open_regular_file(Path::new("/dev/zero")).expect_err("a device");
        assert!(err.to_string().contains("device"), "{err}");
        let err = open_regular_file(&dir).expect_err("a directory");
        assert!(err.to_string().contains("directory"), "{err}");
        assert_eq!(
            open_regular_file(Path::new("/nonexistent/x"))
                .map(|_| ())
                .map_err(|e| e.kind()),
            Err(io::ErrorKind::NotFound)
        );
    }
}
