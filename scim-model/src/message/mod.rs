//! SCIM protocol messages (RFC 7644). (Being written: the messages helper owns this module.)
