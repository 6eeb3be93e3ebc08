//! Host-made secret keys kept in files: 32 random bytes in hex, created with
//! mode 0600 on first use, and refused when others may read them. The
//! journal's seal and the compiled-code cache each keep one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Reads the key at `path`, refusing one whose mode lets others read it.
pub fn read(path: &Path) -> Result<[u8; 32], String> {
    let meta = fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} must be this user's with mode 0600 (it is {:o}, uid {}); chmod 600 it",
            path.display(),
            meta.mode() & 0o777,
            meta.uid()
        ));
    }
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = hex::decode(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{}: not a 32-byte key", path.display()))
}

/// The key at `path`, made (0600, fsync'd) when there is none; two processes
/// making it at once end up with the same one.
pub fn read_or_make(path: &Path) -> Result<[u8; 32], String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| format!("random key: {e}"))?;
            f.write_all(hex::encode(key).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(format!("creating {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_made_once_private_and_refused_once_others_can_read_it() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/k.key");
        let made = read_or_make(&path).unwrap();
        assert_eq!(read_or_make(&path).unwrap(), made);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&path).unwrap_err().contains("mode 0600"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "abcd").unwrap();
        assert!(read(&path).unwrap_err().contains("not a 32-byte key"));
    }
}
