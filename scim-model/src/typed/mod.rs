//! Typed views of the RFC 7643 resources. (Being written: the messages helper owns this module.)
