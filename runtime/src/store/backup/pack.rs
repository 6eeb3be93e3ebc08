//! One file of a backup: stored zstd-compressed with the SHA-256 of its
//! content, and unpacked only when that checksum holds.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::BackupError;

/// zstd's default level: a journal compresses about 5:1 at disk speed.
const LEVEL: i32 = 3;

/// What packing a file produced.
pub(super) struct Packed {
    pub bytes: u64,
    pub sha256: String,
    pub stored_bytes: u64,
}

/// Reads through to an inner reader, hashing and counting what passes.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Writes through to an inner writer, hashing and counting what passes.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Compresses `from` into `to` (created, fsync'd), hashing the original.
pub(super) fn pack(from: &Path, to: &Path) -> Result<Packed, BackupError> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let source = fs::File::open(from).map_err(|e| io_err(from, e))?;
    let mut reader = Hashing {
        inner: io::BufReader::new(source),
        hash: Sha256::new(),
        bytes: 0,
    };
    let out = fs::File::create(to).map_err(|e| io_err(to, e))?;
    let mut encoder =
        zstd::Encoder::new(io::BufWriter::new(out), LEVEL).map_err(|e| io_err(to, e))?;
    io::copy(&mut reader, &mut encoder).map_err(|e| io_err(from, e))?;
    let out = encoder
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| io_err(to, e))?;
    out.sync_all().map_err(|e| io_err(to, e))?;
    let stored_bytes = out.metadata().map_err(|e| io_err(to, e))?.len();
    Ok(Packed {
        bytes: reader.bytes,
        sha256: hex::encode(reader.hash.finalize()),
        stored_bytes,
    })
}

/// Decompresses `from` into `to` when given (else only checks it), and
/// fails unless the content has `bytes` bytes hashing to `sha256`.
pub(super) fn unpack(
    from: &Path,
    to: Option<&Path>,
    bytes: u64,
    sha256: &str,
) -> Result<(), BackupError> {
    let stored = fs::File::open(from).map_err(|e| io_err(from, e))?;
    let mut decoder = zstd::Decoder::new(stored).map_err(|e| io_err(from, e))?;
    let sink: Box<dyn Write> = match to {
        Some(to) => {
            if let Some(dir) = to.parent() {
                fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
            }
            Box::new(io::BufWriter::new(
                fs::File::create(to).map_err(|e| io_err(to, e))?,
            ))
        }
        None => Box::new(io::sink()),
    };
    let mut writer = HashingWriter {
        inner: sink,
        hash: Sha256::new(),
        bytes: 0,
    };
    io::copy(&mut decoder, &mut writer).map_err(|e| io_err(from, format!("unreadable: {e}")))?;
    writer.flush().map_err(|e| io_err(from, e))?;
    let got = hex::encode(writer.hash.finalize());
    if writer.bytes != bytes || got != sha256 {
        return Err(io_err(
            from,
            format!(
                "content is {} bytes with SHA-256 {got}; the manifest says {bytes} bytes, {sha256}",
                writer.bytes
            ),
        ));
    }
    if let Some(to) = to {
        fs::File::open(to)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err(to, e))?;
    }
    Ok(())
}
