//! PATCH (RFC 7644 §3.5.2). (Being written: the patch helper owns this module.)
