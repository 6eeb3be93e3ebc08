//! A zero-allocation scanner for the hottest message, `price_change`. It only
//! locates the fields the decoder needs and hands them to the same conversion
//! code as the general path; anything unusual (escapes, duplicate keys, other
//! event types, old shapes) returns `None` and the general serde path decides.

use std::borrow::Cow;

use super::{RawChange, RawMessage, Text};

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string without escapes (escaped ones go to the general path).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let len = memchr::memchr2(b'"', b'\\', self.b.get(start..)?)?;
        let end = start + len;
        // Escapes and (invalid) raw control characters: general path.
        if self.b[end] != b'"' || self.b[start..end].iter().any(|c| *c < 0x20) {
            return None;
        }
        self.i = end + 1;
        // Quotes are ASCII, so these are char boundaries of the source text.
        self.s.get(start..end)
    }

    /// A string or a bare scalar as text; `Some(None)` for `null`, `None` when
    /// the value is not something this scanner accepts.
    fn scalar(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == b'"' {
            return self.string().map(Some);
        }
        let start = self.i;
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
        let token = self.s.get(start..self.i)?;
        match token {
            "null" => Some(None),
            "true" | "false" => Some(Some(token)),
            _ if is_json_number(token) => Some(Some(token)),
            // Not valid JSON: let the general path produce the error.
            _ => None,
        }
    }

    /// Skips any value (strings may contain escapes here).
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                loop {
                    match self.b.get(self.i)? {
                        b'"' => {
                            self.i += 1;
                            return Some(());
                        }
                        // Only JSON's escapes; anything else is the general
                        // path's error to report, not ours to skip over.
                        b'\\' => match self.b.get(self.i + 1)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                            b'u' => {
                                let hex = self.b.get(self.i + 2..self.i + 6)?;
                                if !hex.iter().all(u8::is_ascii_hexdigit) {
                                    return None;
                                }
                                self.i += 6;
                            }
                            _ => return None,
                        },
                        0..=0x1f => return None,
                        _ => self.i += 1,
                    }
                }
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.b.get(self.i)? {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        b'"' => {
                            self.skip()?;
                            continue;
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => self.scalar().map(|_| ()),
        }
    }

    /// Calls `f` for each key of an object; `f` must consume the value.
    fn object(&mut self, mut f: impl FnMut(&'a str, &mut Cursor<'a>) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            f(key, self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn set<'a>(slot: &mut Option<Text<'a>>, value: Option<&'a str>) -> Option<()> {
    // A duplicate key is for the general path to judge.
    if slot.is_some() {
        return None;
    }
    *slot = value.map(|v| Text(Cow::Borrowed(v)));
    Some(())
}

fn change<'a>(c: &mut Cursor<'a>) -> Option<RawChange<'a>> {
    let (mut asset, mut price, mut size, mut side) = (None, None, None, None);
    let (mut best_bid, mut best_ask) = (None, None);
    c.object(|key, c| match key {
        "asset_id" => set(&mut asset, Some(c.scalar()??)),
        "price" => set(&mut price, Some(c.scalar()??)),
        "size" => set(&mut size, Some(c.scalar()??)),
        "side" => set(&mut side, Some(c.scalar()??)),
        "best_bid" => set(&mut best_bid, c.scalar()?),
        "best_ask" => set(&mut best_ask, c.scalar()?),
        _ => c.skip(),
    })?;
    Some(RawChange {
        asset_id: asset,
        price: price?,
        size: size?,
        side: side?,
        best_bid,
        best_ask,
    })
}

/// The fields of a `price_change` frame, or `None` to use the general path.
pub(super) fn scan_price_change(json: &str) -> Option<RawMessage<'_>> {
    let mut c = Cursor {
        s: json,
        b: json.as_bytes(),
        i: 0,
    };
    let mut raw = RawMessage::default();
    let mut changes: Option<Vec<RawChange>> = None;
    let mut typed = false;
    c.object(|key, c| match key {
        "event_type" => {
            let ok = !typed && c.string()? == "price_change";
            typed = true;
            ok.then_some(())
        }
        "market" => set(&mut raw.market, Some(c.scalar()??)),
        "timestamp" => set(&mut raw.timestamp, Some(c.scalar()??)),
        "price_changes" => {
            if changes.is_some() {
                return None;
            }
            let mut list = Vec::with_capacity(4);
            c.eat(b'[')?;
            if c.peek()? == b']' {
                c.i += 1;
            } else {
                loop {
                    list.push(change(c)?);
                    match c.peek()? {
                        b',' => c.i += 1,
                        b']' => {
                            c.i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            changes = Some(list);
            Some(())
        }
        _ => c.skip(),
    })?;
    if c.peek().is_some() {
        return None;
    }
    if !typed {
        return None;
    }
    raw.price_changes = Some(changes?);
    raw.event_type = Some(Text(Cow::Borrowed("price_change")));
    Some(raw)
}
