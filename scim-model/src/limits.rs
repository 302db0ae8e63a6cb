//! Hard limits against hostile input.

/// Bounds that every parser in this crate enforces, so that no input can cause a stack
/// overflow, a panic or a quadratic blow-up.
///
/// The defaults suit a SCIM server facing the internet; a host may tighten or loosen them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest filter or attribute path accepted, in bytes (default 8 KiB).
    pub max_filter_len: usize,
    /// Deepest nesting of parentheses, `not`, `and`/`or` chains and value filters (default 64).
    ///
    /// The parser itself keeps its stack flat, but printing, evaluating and dropping a
    /// [`Filter`](crate::Filter) recurse over its tree, which can be this deep: values far above
    /// the default (over about 1,000) risk overflowing small thread stacks. A chain of `or`s
    /// counts one level per operator, so the default accepts up to 64 alternatives.
    pub max_depth: usize,
    /// Largest JSON payload accepted by the `from_slice`/`from_str` readers, in bytes
    /// (default 1 MiB, the `maxPayloadSize` a Bulk endpoint advertises).
    pub max_payload_bytes: usize,
    /// Most operations in one Bulk request (default 1000).
    pub max_bulk_operations: usize,
}

impl Limits {
    /// The default limits: 8 KiB filters, depth 64, 1 MiB payloads, 1000 bulk operations.
    pub const DEFAULT: Limits = Limits {
        max_filter_len: 8 * 1024,
        max_depth: 64,
        max_payload_bytes: 1024 * 1024,
        max_bulk_operations: 1000,
    };

    /// Sets the longest filter or path accepted, in bytes.
    pub fn with_max_filter_len(mut self, bytes: usize) -> Self {
        self.max_filter_len = bytes;
        self
    }

    /// Sets the deepest nesting accepted.
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the largest JSON payload accepted, in bytes.
    pub fn with_max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    /// Sets the most operations in one Bulk request.
    pub fn with_max_bulk_operations(mut self, n: usize) -> Self {
        self.max_bulk_operations = n;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
