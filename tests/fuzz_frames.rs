//! A million generated and mutated market-channel frames through the decoder and
//! the books: zero panics, and every valid frame still decodes after the storm.

use pqap::data::books::Books;
use pqap::data::update::FeedUpdate;
use pqap::model::{MarketEvent, TokenId};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::wire;

/// xorshift64*, seeded: the same storm every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"-1",
    b"1e309",
    b"0.0000001",
    b"\\u0000",
    b"null",
    b"\"BUY\"",
    b"\"price_change\"",
    b"\"book\"",
    b"99999999999999999999",
    b"\xff",
    b"\"\"",
    b"1.0000001",
    b"NaN",
];

fn mutate(rng: &mut Rng, frame: &str) -> Vec<u8> {
    let mut b = frame.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            break;
        }
        let i = rng.below(b.len());
        match rng.below(6) {
            0 => b[i] = rng.next() as u8,
            1 => b.truncate(i),
            2 => {
                let s = INTERESTING[rng.below(INTERESTING.len())];
                b.splice(i..i, s.iter().copied());
            }
            3 => {
                let j = (i + 1 + rng.below(16)).min(b.len());
                b.drain(i..j);
            }
            4 => {
                let j = (i + 1 + rng.below(32)).min(b.len());
                let copy = b[i..j].to_vec();
                b.splice(i..i, copy);
            }
            _ => {
                let j = rng.below(b.len());
                b.swap(i, j);
            }
        }
    }
    b
}

#[test]
fn a_million_frames_never_panic() {
    let mut generator = Generator::new(
        GeneratorConfig {
            seed: 99,
            markets: 4,
            jump_ppm: 100_000,
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let all = |_: &TokenId| true;
    let mut valid: Vec<String> = generator
        .tokens()
        .iter()
        .filter_map(|t| generator.book(t))
        .filter_map(|e| wire::message(&e, &all))
        .map(|v| v.to_string())
        .collect();
    let mut rng = Rng(0x5EED_F00D);
    let mut books = Books::default();
    let mut out = Vec::new();
    let mut decoded = 0u64;
    let mut rejected = 0u64;
    const FRAMES: usize = 1_000_000;
    for n in 0..FRAMES {
        if n % 50 == 0 {
            let step: Vec<MarketEvent> = generator.step();
            valid = step
                .iter()
                .filter_map(|e| wire::message(e, &all))
                .map(|v| v.to_string())
                .collect();
            if valid.is_empty() {
                continue;
            }
        }
        let base = &valid[rng.below(valid.len())];
        let text = match rng.below(4) {
            // A quarter of the frames are valid (some batched as arrays).
            0 => base.clone(),
            1 => format!("[{base},{base}]"),
            _ => String::from_utf8_lossy(&mutate(&mut rng, base)).into_owned(),
        };
        if let Some(update) = FeedUpdate::from_frame(n as u64, 0, text) {
            decoded += update.events.len() as u64;
            rejected += update.errors.len() as u64;
            out.clear();
            for e in &update.events {
                books.apply(e, n as u64, &mut out);
            }
        }
    }
    assert!(decoded > 200_000, "plenty of frames were valid ({decoded})");
    assert!(
        rejected > 200_000,
        "plenty were rejected cleanly ({rejected})"
    );
}
