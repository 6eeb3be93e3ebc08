//! `wasi:random`: every source is a SplitMix64 stream derived from the run's
//! seed, so a rerun sees the same bytes (an algorithm fixed here, not a
//! library's choice that may change between releases).

use wasmtime::component::Linker;

use super::{MAX_RANDOM_BYTES, WasiLimit, name};
use crate::strategy::host::HostState;
use crate::strategy::rng::SplitMix64;

fn bytes(rng: &mut SplitMix64, len: u64) -> wasmtime::Result<Vec<u8>> {
    if len > MAX_RANDOM_BYTES {
        return Err(wasmtime::Error::new(WasiLimit(format!(
            "asked for {len} random bytes in one call, limit {MAX_RANDOM_BYTES}"
        ))));
    }
    let len = usize::try_from(len).unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let word = rng.next_u64().to_le_bytes();
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&word[..take]);
    }
    Ok(out)
}

pub(super) fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut random = linker.instance(&name("random/random"))?;
    random.func_wrap("get-random-bytes", |mut store, (len,): (u64,)| {
        Ok((bytes(&mut store.data_mut().wasi.secure, len)?,))
    })?;
    random.func_wrap("get-random-u64", |mut store, (): ()| {
        Ok((store.data_mut().wasi.secure.next_u64(),))
    })?;

    let mut insecure = linker.instance(&name("random/insecure"))?;
    insecure.func_wrap("get-insecure-random-bytes", |mut store, (len,): (u64,)| {
        Ok((bytes(&mut store.data_mut().wasi.insecure, len)?,))
    })?;
    insecure.func_wrap("get-insecure-random-u64", |mut store, (): ()| {
        Ok((store.data_mut().wasi.insecure.next_u64(),))
    })?;

    let mut seed = linker.instance(&name("random/insecure-seed"))?;
    seed.func_wrap("insecure-seed", |store, (): ()| {
        Ok((store.data().wasi.insecure_seed,))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_the_stream_little_endian_and_capped() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let got = bytes(&mut a, 11).unwrap();
        let first = b.next_u64().to_le_bytes();
        let second = b.next_u64().to_le_bytes();
        assert_eq!(&got[..8], &first);
        assert_eq!(&got[8..], &second[..3]);
        assert!(bytes(&mut a, MAX_RANDOM_BYTES + 1).is_err());
        assert_eq!(bytes(&mut a, 0).unwrap(), Vec::<u8>::new());
    }
}
