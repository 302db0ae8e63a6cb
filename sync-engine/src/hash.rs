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

/// A source object's fingerprint under a configuration: FNV-1a over the configuration's hash
/// and the object's compact JSON text.
pub(crate) fn object_fingerprint(config_hash: &str, object: &scim_model::Resource) -> String {
    Fnv::new()
        .bytes(config_hash.as_bytes())
        .serialized(object.as_object())
        .hex()
}

/// [`object_fingerprint`] of the object whose compact JSON text (as `serde_json` writes it)
/// is `text`, without writing it again.
pub(crate) fn text_fingerprint(config_hash: &str, text: &[u8]) -> String {
    Fnv::new().bytes(config_hash.as_bytes()).bytes(text).hex()
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

    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "\\PC{0,12}|[\"\\\\\u{0}-\u{1f}é€😀a-z]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::vec(("[a-zA-Z]{1,6}", inner), 0..4)
                    .prop_map(|kv| { serde_json::Value::Object(kv.into_iter().collect()) }),
            ]
        })
    }

    proptest::proptest! {
        /// The fingerprint of an object held back as its text, taken from the text, is the
        /// one taken from the object, and the one of the object read back from the text.
        #[test]
        fn text_fingerprint_is_the_object_fingerprint(
            attrs in proptest::collection::vec(("[a-zA-Z]{1,8}", json()), 0..6),
            config in "[0-9a-f]{0,16}",
        ) {
            let mut map = serde_json::Map::new();
            map.insert("userName".to_owned(), serde_json::Value::from("bjensen"));
            for (k, v) in attrs {
                map.insert(k, v);
            }
            if let Ok(object) = scim_model::Resource::from_value(serde_json::Value::Object(map)) {
                let text = serde_json::to_vec(&object).unwrap();
                let from_text = text_fingerprint(&config, &text);
                proptest::prop_assert_eq!(&from_text, &object_fingerprint(&config, &object));
                let reread: scim_model::Resource = serde_json::from_slice(&text).unwrap();
                proptest::prop_assert_eq!(&from_text, &object_fingerprint(&config, &reread));
            }
        }
    }

    #[test]
    fn different_json_gives_different_fingerprints() {
        let a = Fnv::new().serialized(&serde_json::json!({"a": 1})).hex();
        let b = Fnv::new().serialized(&serde_json::json!({"a": 2})).hex();
        assert_ne!(a, b);
    }
}
