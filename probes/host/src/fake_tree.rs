//! A fake `/proc`, cgroup tree and root filesystem in a temporary directory, for unit tests:
//! every [`Roots`] path points inside it, so a test never reads the real system by accident.

use std::fs;
use std::path::Path;

use crate::Roots;

/// A temporary directory laid out as `proc/`, `cgroup/`, `root/` and `passwd`.
pub(crate) struct FakeTree(tempfile::TempDir);

impl FakeTree {
    pub(crate) fn new() -> FakeTree {
        match tempfile::tempdir() {
            Ok(dir) => FakeTree(dir),
            Err(error) => panic!("tempdir: {error}"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` at `relative` inside the tree, creating folders.
    pub(crate) fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            assert!(fs::create_dir_all(parent).is_ok(), "mkdir {}", parent.display());
        }
        assert!(fs::write(&path, text).is_ok(), "write {}", path.display());
    }

    /// A symbolic link at `relative` whose target reads `target` (`net:[4026531840]`,
    /// `socket:[1234]`: what the kernel's `/proc` links read; nothing need exist there).
    pub(crate) fn link(&self, relative: &str, target: &str) {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            assert!(fs::create_dir_all(parent).is_ok(), "mkdir {}", parent.display());
        }
        assert!(
            std::os::unix::fs::symlink(target, &path).is_ok(),
            "symlink {}",
            path.display()
        );
    }

    /// Roots that read only from this tree.
    pub(crate) fn roots(&self) -> Roots {
        Roots {
            proc: self.path().join("proc"),
            cgroup: self.path().join("cgroup"),
            passwd: self.path().join("passwd"),
            fs_root: self.path().join("root"),
            dmi: self.path().join("dmi"),
        }
    }
}
