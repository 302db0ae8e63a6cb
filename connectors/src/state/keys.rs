//! Ordered keys made of components, so that a prefix of components selects a range.

/// A state-store key built from components (job, object type, id, ...).
///
/// Each component is written with its `0x00` bytes escaped (`0x00 0xFF`) and ends with
/// `0x00 0x01`, so a key made of the first components of another is a byte prefix of it and
/// no component can run into the next: `("a", "b")` and `("a\0b",)` differ. Numbers are
/// written big-endian so they sort numerically.
///
/// ```
/// use connectors::state::Key;
///
/// let job = Key::new().str("hr-sync").str("User");
/// let one = job.clone().str("E1042");
/// assert!(one.as_bytes().starts_with(job.as_bytes()));
/// assert!(Key::new().u64(9).as_bytes() < Key::new().u64(10).as_bytes());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(Vec<u8>);

impl Key {
    /// An empty key (the prefix of everything).
    pub fn new() -> Self {
        Key(Vec::new())
    }

    /// An empty key with room for `bytes` bytes of components (a key built in several steps
    /// then grows once, not at each component).
    pub fn with_capacity(bytes: usize) -> Self {
        Key(Vec::with_capacity(bytes))
    }

    /// Appends a text component.
    pub fn str(self, component: &str) -> Self {
        self.bytes(component.as_bytes())
    }

    /// Appends a binary component.
    pub fn bytes(mut self, component: &[u8]) -> Self {
        self.0.reserve(component.len() + 2);
        for &b in component {
            self.0.push(b);
            if b == 0 {
                self.0.push(0xFF);
            }
        }
        self.0.extend_from_slice(&[0x00, 0x01]);
        self
    }

    /// Appends a number component that sorts numerically.
    pub fn u64(self, n: u64) -> Self {
        self.bytes(&n.to_be_bytes())
    }

    /// The encoded key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Gives back the encoded key.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Splits an encoded key back into its components; `None` if it was not made by [`Key`].
    pub fn decode(encoded: &[u8]) -> Option<Vec<Vec<u8>>> {
        let mut parts = Vec::new();
        let mut current = Vec::new();
        let mut i = 0;
        while i < encoded.len() {
            let b = encoded[i];
            if b == 0 {
                match encoded.get(i + 1) {
                    Some(0xFF) => current.push(0),
                    Some(0x01) => parts.push(std::mem::take(&mut current)),
                    _ => return None,
                }
                i += 2;
            } else {
                current.push(b);
                i += 1;
            }
        }
        current.is_empty().then_some(parts)
    }
}

impl From<Key> for Vec<u8> {
    fn from(k: Key) -> Vec<u8> {
        k.0
    }
}

/// A range of keys for [`StateStore::scan`](super::StateStore::scan): every key that starts
/// with `prefix`, after the key `after` (exclusive) if given — so a listing continues from
/// the last key of its previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRange {
    /// Keys start with this.
    pub prefix: Vec<u8>,
    /// Keys are greater than this.
    pub after: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key starting with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        KeyRange {
            prefix: prefix.into(),
            after: None,
        }
    }

    /// Continues after `key`.
    pub fn after(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.after = Some(key.into());
        self
    }

    /// Whether `key` is in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key.starts_with(&self.prefix) && self.after.as_deref().is_none_or(|a| key > a)
    }

    /// The lowest key the range may hold, and whether it is included.
    pub fn start(&self) -> (&[u8], bool) {
        match &self.after {
            Some(a) if a.as_slice() >= self.prefix.as_slice() => (a, false),
            _ => (&self.prefix, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nul_bytes_cannot_merge_components() {
        let a = Key::new().str("a").str("b");
        let b = Key::new().str("a\0b");
        assert_ne!(a, b);
        assert_eq!(Key::decode(b.as_bytes()).unwrap(), vec![b"a\0b".to_vec()]);
        assert_eq!(Key::decode(&[0, 7]), None);
    }

    #[test]
    fn range_after_skips_earlier_keys() {
        let r = KeyRange::prefix(Key::new().str("job").into_bytes())
            .after(Key::new().str("job").str("m").into_bytes());
        assert!(r.contains(Key::new().str("job").str("z").as_bytes()));
        assert!(!r.contains(Key::new().str("job").str("a").as_bytes()));
        assert!(!r.contains(Key::new().str("other").as_bytes()));
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..5)) {
            let mut k = Key::new();
            for p in &parts {
                k = k.bytes(p);
            }
            prop_assert_eq!(Key::decode(k.as_bytes()), Some(parts));
        }

        #[test]
        fn prefix_order_follows_component_order(a in "[a-z\\x00]{0,6}", b in "[a-z\\x00]{0,6}") {
            let ka = Key::new().str(&a);
            let kb = Key::new().str(&b);
            // Components compare as their bytes do, except that a component sorts before
            // its own extensions: "ab" < "abc".
            prop_assert_eq!(a.as_bytes().cmp(b.as_bytes()), ka.as_bytes().cmp(kb.as_bytes()));
        }
    }
}
