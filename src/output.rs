//! Files mywire writes (`-o` reports, `-w` captures), written so that an
//! existing file is never damaged by a run that fails, and so that running as
//! root cannot be turned against the host.
//!
//! - Every check happens before any byte is written: the directory must
//!   exist; a symbolic link at the target is refused (it could point anywhere);
//!   in a sticky world-writable directory (`/tmp`) a target owned by another
//!   user is refused (it may have been planted there).
//! - Content goes to a new temporary file beside the target, created with
//!   `O_EXCL | O_NOFOLLOW` and mode 0644 (0600 for secrets); the target is
//!   replaced by an atomic rename only when the content is complete
//!   ([`OutputFile::commit`]). Dropped without a commit (an error, Ctrl-C
//!   before the end), the temporary file is removed and the target is untouched.
//! - When privileges will be dropped ([`OutputFile::create_for`]) and the
//!   dropped user could not rename in the target's directory (a root-owned
//!   directory), the target is opened now, before the drop, without
//!   truncation, and the content is staged in an unnamed temporary file; at the
//!   commit it is copied over the target and the target is cut to its length.
//!   The old content thus survives every failure before the commit.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Who will write the file after a privilege drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// How the content reaches the target at the commit.
#[derive(Debug)]
enum Stage {
    /// A named temporary file beside the target, renamed over it.
    Rename(PathBuf),
    /// An unnamed temporary file, copied into the target opened at the start.
    CopyInto(File),
}

/// A file being written; see the module docs.
#[derive(Debug)]
pub struct OutputFile {
    target: PathBuf,
    file: File,
    stage: Option<Stage>,
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The checks every output path must pass before anything is written.
fn check_target(path: &Path) -> Result<()> {
    let dir = dir_of(path);
    let dmeta = std::fs::metadata(&dir).with_context(|| format!("{}: the directory {} does not exist", path.display(), dir.display()))?;
    if !dmeta.is_dir() {
        bail!("{}: {} is not a directory", path.display(), dir.display());
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            bail!("{}: refusing to write through a symbolic link (remove it or choose another name)", path.display())
        }
        Ok(m) if m.is_dir() => bail!("{}: is a directory", path.display()),
        Ok(m) => {
            let sticky_public = dmeta.mode() & 0o1002 == 0o1002;
            if sticky_public && m.uid() != nix::unistd::geteuid().as_raw() {
                bail!(
                    "{}: refusing to replace a file owned by uid {} in the shared directory {} (it may have been planted)",
                    path.display(),
                    m.uid(),
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("checking {}", path.display())),
    }
}

/// True when `owner` may create and rename files in `dir` (by its mode bits).
fn can_rename_in(dir: &Path, owner: Owner) -> bool {
    let Ok(m) = std::fs::metadata(dir) else { return false };
    let mode = m.mode();
    if owner.uid == 0 {
        return true;
    }
    let bits = if m.uid() == owner.uid {
        mode >> 6
    } else if m.gid() == owner.gid {
        mode >> 3
    } else {
        mode
    };
    bits & 0o3 == 0o3
}

fn temp_name(target: &Path) -> PathBuf {
    use std::time::{SystemTime, UNIX_EPOCH};
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    let nonce = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    dir_of(target).join(format!(".{name}.mywire-{}-{nonce:08x}.tmp", std::process::id()))
}

fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(mode).custom_flags(libc_flags::NOFOLLOW | libc_flags::CLOEXEC).open(path)
}

/// `open(2)` flags not in std's `OpenOptions`.
mod libc_flags {
    pub const NOFOLLOW: i32 = nix::fcntl::OFlag::O_NOFOLLOW.bits();
    pub const CLOEXEC: i32 = nix::fcntl::OFlag::O_CLOEXEC.bits();
    pub const TMPFILE: i32 = nix::fcntl::OFlag::O_TMPFILE.bits();
}

impl OutputFile {
    /// Starts writing `path` (see the module docs); `mode` is the new file's
    /// permission bits (0o644 for reports, 0o600 for secrets).
    pub fn create(path: &Path, mode: u32) -> Result<OutputFile> {
        check_target(path)?;
        let tmp = temp_name(path);
        let file = create_new(&tmp, mode).with_context(|| format!("creating a temporary file beside {}", path.display()))?;
        Ok(OutputFile { target: path.to_path_buf(), file, stage: Some(Stage::Rename(tmp)) })
    }

    /// Like [`OutputFile::create`], for a process that will then drop its
    /// privileges to `owner`: the staging file is handed to `owner`, and the
    /// target is opened now if `owner` could not rename in its directory.
    pub fn create_for(path: &Path, mode: u32, owner: Option<Owner>) -> Result<OutputFile> {
        let Some(owner) = owner.filter(|o| o.uid != nix::unistd::geteuid().as_raw()) else { return Self::create(path, mode) };
        check_target(path)?;
        let chown = |f: &File| {
            nix::unistd::fchown(f, Some(owner.uid.into()), Some(owner.gid.into()))
                .with_context(|| format!("handing {} to uid {}", path.display(), owner.uid))
        };
        // in a sticky directory only a file's owner may replace it
        let sticky = std::fs::metadata(dir_of(path)).is_ok_and(|m| m.mode() & 0o1000 != 0);
        let target_owner = std::fs::symlink_metadata(path).ok().map(|m| m.uid());
        let replaceable = !sticky || target_owner.is_none_or(|u| u == owner.uid);
        if replaceable && can_rename_in(&dir_of(path), owner) {
            let out = Self::create(path, mode)?;
            chown(&out.file)?;
            out.file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            return Ok(out);
        }
        // opened (not truncated) now, while the directory is still writable for us
        let target = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode)
            .custom_flags(libc_flags::NOFOLLOW | libc_flags::CLOEXEC)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let staging = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc_flags::TMPFILE | libc_flags::CLOEXEC)
            .open(std::env::temp_dir())
            .with_context(|| format!("creating an unnamed staging file in {}", std::env::temp_dir().display()))?;
        chown(&staging)?;
        Ok(OutputFile { target: path.to_path_buf(), file: staging, stage: Some(Stage::CopyInto(target)) })
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Makes the content the target's: renames the staging file over it, or
    /// copies it in and cuts the target to its length.
    pub fn commit(mut self) -> Result<()> {
        self.file.flush()?;
        match self.stage.take() {
            Some(Stage::Rename(tmp)) => {
                if let Err(e) = std::fs::rename(&tmp, &self.target) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e).with_context(|| format!("replacing {}", self.target.display()));
                }
            }
            Some(Stage::CopyInto(mut target)) => {
                let len = self.file.seek(SeekFrom::End(0))?;
                self.file.seek(SeekFrom::Start(0))?;
                target.seek(SeekFrom::Start(0))?;
                std::io::copy(&mut self.file, &mut target).with_context(|| format!("writing {}", self.target.display()))?;
                target.set_len(len)?;
                target.flush()?;
            }
            None => {}
        }
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // not committed: the target stays as it was
        if let Some(Stage::Rename(tmp)) = self.stage.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_leaves_the_old_file_and_a_commit_replaces_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("report.json");
        std::fs::write(&p, "old").unwrap();
        {
            let mut o = OutputFile::create(&p, 0o644).unwrap();
            o.write_all(b"half a rep").unwrap();
            // dropped: an error happened
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file left");
        let mut o = OutputFile::create(&p, 0o644).unwrap();
        o.write_all(b"new report").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new report");
    }

    #[test]
    fn symlinks_and_missing_directories_are_refused_before_writing() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = d.path().join("out.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = OutputFile::create(&link, 0o644).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let e = OutputFile::create(&d.path().join("no/such/dir/x"), 0o644).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn copy_into_keeps_the_old_content_until_the_commit() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.txt");
        std::fs::write(&p, "an old, longer report").unwrap();
        let target = OpenOptions::new().write(true).open(&p).unwrap();
        let staging = OpenOptions::new().read(true).write(true).custom_flags(libc_flags::TMPFILE).open(d.path()).unwrap();
        let mut o = OutputFile { target: p.clone(), file: staging, stage: Some(Stage::CopyInto(target)) };
        o.write_all(b"short").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "an old, longer report");
        o.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "short");
    }
}
