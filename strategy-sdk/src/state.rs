//! A tiny versioned byte codec for `snapshot_state`/`restore_state`, so strategies
//! do not need serde (which would bloat the component) to survive a restart.

/// Appends little-endian fields to a buffer that starts with a format version.
#[derive(Debug)]
pub struct StateWriter {
    buf: Vec<u8>,
}

impl StateWriter {
    /// Starts a buffer for format `version` (bump it when the layout changes).
    pub fn new(version: u8) -> StateWriter {
        StateWriter { buf: vec![version] }
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads what a [`StateWriter`] wrote; every read fails cleanly on short input.
#[derive(Debug)]
pub struct StateReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> StateReader<'a> {
    /// Opens `buf`, requiring format `version`.
    pub fn new(buf: &'a [u8], version: u8) -> Result<StateReader<'a>, String> {
        match buf.first() {
            Some(v) if *v == version => Ok(StateReader { buf, pos: 1 }),
            Some(v) => Err(format!(
                "state format {v} is not the supported format {version}"
            )),
            None => Err("state is empty".to_string()),
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.pos + N;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| format!("state truncated at byte {}", self.pos))?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    pub fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    pub fn bool(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("state has {b} where a bool was expected")),
        }
    }

    /// Fails if bytes are left over (a sign of a layout mismatch).
    pub fn finish(self) -> Result<(), String> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(format!(
                "state has {} unread bytes",
                self.buf.len() - self.pos
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roundtrip_and_errors() {
        let mut w = StateWriter::new(2);
        w.u32(7).u64(u64::MAX).i64(-5).bool(true);
        let bytes = w.finish();
        let mut r = StateReader::new(&bytes, 2).unwrap();
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert_eq!(r.i64().unwrap(), -5);
        assert!(r.bool().unwrap());
        r.finish().unwrap();
        assert!(
            StateReader::new(&bytes, 3)
                .unwrap_err()
                .contains("format 2")
        );
        let mut r = StateReader::new(&bytes[..4], 2).unwrap();
        assert!(r.u64().unwrap_err().contains("truncated"));
    }

    proptest! {
        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(mut r) = StateReader::new(&bytes, bytes.first().copied().unwrap_or(0)) {
                while r.u32().is_ok() {}
                let _ = r.bool();
            }
        }
    }
}
