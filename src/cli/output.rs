//! Writing output files atomically: a temporary file beside the target, then a rename, so a
//! reader (a scheduled job picking up reports) never sees half a file.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically; the error says which file and what went wrong.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.json");
        write_atomically(&target, b"{}").expect("write");
        write_atomically(&target, b"[1]").expect("overwrite");
        assert_eq!(std::fs::read(&target).expect("read"), b"[1]");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
        let err = write_atomically(&dir.path().join("missing/out.json"), b"x").expect_err("no dir");
        assert!(err.contains("missing/out.json"), "{err}");
    }
}
