//! Stable fingerprints: FNV-1a over canonical JSON, the same on every platform and Rust
//! version (unlike `std`'s hashers), so stored fingerprints stay valid across upgrades.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

/// An incremental FNV-1a 64 hasher.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Fnv(OFFSET)
    }

    pub(crate) fn bytes(mut self, bytes: &[u8]) -> Self {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
        self
    }

    /// Feeds any serialisable value as its JSON text, hashed as it is written (no buffer).
    pub(crate) fn serialized<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        let mut sink = Sink(self);
        match serde_json::to_writer(&mut sink, value) {
            Ok(()) => sink.0,
            // What a failed serialisation had fed is dropped: the fingerprint is that of
            // the marker alone, as when the text was written to a buffer first.
            Err(_) => self.bytes(b"\xffunserialisable"),
        }
    }

    pub(crate) fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// An [`std::io::Write`] that feeds what is written to the hasher.
struct Sink(Fnv);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.bytes(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv): FNV-1a 64 of "" and "a".
        assert_eq!(Fnv::new().hex(), "cbf29ce484222325");
        assert_eq!(Fnv::new().bytes(b"a").hex(), "af63dc4c8601ec8c");
        assert_eq!(Fnv::new().bytes(b"foobar").hex(), "85944171f73967e8");
    }

    #[test]
    fn serialized_hashes_exactly_the_json_text() {
        // Fingerprints stored by earlier versions (which hashed `to_vec`'s bytes) stay valid.
        let v = serde_json::json!({"userName": "bjensen", "emails": [{"value": "b\u{e9}@x", "primary": true}], "n": 1.5});
        let text = serde_json::to_vec(&v).unwrap();
        assert_eq!(
            Fnv::new().serialized(&v).hex(),
            Fnv::new().bytes(&text).hex()
        );
    }

    #[test]
    fn different_json_gives_different_fingerprints() {
        let a = Fnv::new().serialized(&serde_json::json!({"a": 1})).hex();
        let b = Fnv::new().serialized(&serde_json::json!({"a": 2})).hex();
        assert_ne!(a, b);
    }
}
